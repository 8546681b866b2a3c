"""Filter quality: labelled data, the trained bias classifier, evaluation and calibration."""
