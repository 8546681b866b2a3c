"""Can the bundled writer judge a draft against its brief? Two yes/no questions, scored by P(yes), on the read drafts.

    .venv/bin/python bench/writer/judge_probe.py [LIMIT] [THREADS]

Reads the drafts of the writer evaluation run (drafts-default.json, exported by `labelling.py export` to
/tmp/eval-drafts.jsonl) and their editor labels (labels-default.jsonl); writes judge-scores.jsonl beside this
file. The AUC figures are in EVAL.md ("A judge from the writer itself").
"""
import json, sys, time, math
import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parents[2]))
from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.prompts import build_messages

QUESTIONS = {
 "invents": "Does the text state any detail (a feature, offer, reason, activity, time, price or name) that the request does not give?",
 "faithful": "Does the text get every fact of the request right, and leave none of them out?",
}
llm = Llama(model_path='/work/main/.aigc/models/gguf/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf', n_ctx=2048,
            n_threads=int(sys.argv[2]) if len(sys.argv) > 2 else 1, n_batch=512, verbose=False)
fmt = Jinja2ChatFormatter(template=llm.metadata['tokenizer.chat_template'], eos_token='<|im_end|>', bos_token='')
def ids(words):
    out=set()
    for w in words:
        t=llm.tokenize(w.encode(), add_bos=False, special=False)
        if len(t)==1: out.add(t[0])
    return sorted(out)
YES, NO = ids(["yes","Yes"," yes"," Yes","YES"]), ids(["no","No"," no"," No","NO"])
rows=[json.loads(l) for l in open('/tmp/eval-drafts.jsonl')]
labels={json.loads(l)['id']:json.loads(l) for l in open('/work/main/bench/writer/labels-default.jsonl')}
run=json.load(open('/work/main/bench/writer/drafts-default.json'))
verdict={f"e124b90-{d['id']}":d['verdict'] for d in run['drafts']}
# every read draft, approved or not
limit=int(sys.argv[1]) if len(sys.argv)>1 else len(rows)
out=open(str(__import__('pathlib').Path(__file__).with_name('judge-scores.jsonl')),'w')
for r in rows[:limit]:
    brief=BriefSpec.model_validate(r['brief'])
    request=build_messages(brief)[1]['content'].split('\n\n',1)[1]
    res={"id":r['id'],"verdict":verdict[r['id']],"label":labels[r['id']]['label'],"defects":labels[r['id']]['defects']}
    t0=time.perf_counter()
    for name,q in QUESTIONS.items():
        msgs=[{"role":"system","content":"You are a careful, strict editor."},
              {"role":"user","content":f"A writer was given this request:\n\n{request}\n\nThe writer wrote this text:\n\n{r['text']}\n\n{q} Answer yes or no."}]
        toks=llm.tokenize(fmt(messages=msgs).prompt.encode(), add_bos=False, special=True)
        llm.reset(); llm.eval(toks)
        import llama_cpp
        logits=np.array(np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm._ctx.ctx), shape=(llm.n_vocab(),)))
        m=logits.max(); p=np.exp(logits-m); p/=p.sum()
        y,n=p[YES].sum(),p[NO].sum()
        res[name]=float(y/(y+n)) if y+n>0 else None
    res['seconds']=round(time.perf_counter()-t0,1)
    out.write(json.dumps(res)+'\n'); out.flush()
    print(res, flush=True)
