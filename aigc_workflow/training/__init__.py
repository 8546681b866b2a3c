"""Fine-tuning from feedback: datasets, training, evaluation."""
