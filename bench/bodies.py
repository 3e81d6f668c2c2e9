"""Request bodies for bench/run.sh (issue #4), written into a directory.

single.json          one PHQ-9 submission padded with a free-text item to
                     ~1 KB (for the location without instrument definitions)
single-instr.json    the same PHQ-9 submission without the free text (~0.3 KB),
                     valid under conf/instruments.json (strict policy)
array100.json        an array of 100 submissions like single.json (~100 KB)
array100-instr.json  an array of 100 like single-instr.json (~30 KB)
answers200.json      one submission with 200 answers of mixed types (~8 KB)
instruments-200.json conf/instruments.json plus a "DIARY-200" instrument that
                     describes answers200.json (core micro-benchmark only)

No body carries a submissionId: the module makes a fresh UUIDv7 per
submission, so hey's and wrk's identical bodies all become new rows.
Deterministic (no randomness): the same bytes every run.
"""

import json
import os

SENTENCES = [
    "Sleeping badly since the dose change, awake around 3 am most nights.",
    "Appetite is back to normal this week.",
    "Felt \"flat\" at work on Tuesday and Wednesday, better by the weekend.",
    "Walked 30 min a day as suggested; the knee is still sore after stairs.",
    "Mood lifts in the afternoon, mornings are the hardest part.",
    "Médicament pris chaque matin, aucune dose oubliée.",
    "Had a headache on Thursday (took paracetamol 500 mg at 14:00).",
    "Grateful for the call from the study nurse - it helped a lot.",
    "Some trouble concentrating when reading; TV is fine.",
    "Visited my sister on Sunday, first time in a month.",
    "Übelkeit nach dem Frühstück an zwei Tagen, sonst gut.",
    "No thoughts of self-harm; I would call the number if that changed.",
]

PHQ9 = ["PHQ9_%d" % i for i in range(1, 11)]


def submission(i, padded):
    answers = {item: (i * 7 + k * 3) % 4 for k, item in enumerate(PHQ9)}
    if padded:
        text, k = [], i
        while len(" ".join(text)) < 620:
            text.append(SENTENCES[k % len(SENTENCES)])
            k += 5
        answers["COMMENT"] = " ".join(text)
    return {
        "studyId": "STUDY-BENCH-01",
        "siteId": "SITE-%02d" % (1 + i % 12),
        "subjectId": "SUBJ-%05d" % (1000 + i),
        "visitName": ["Baseline", "Week 4", "Week 8", "Week 12"][i % 4],
        "instrument": "PHQ-9",
        "collectedAt": "2026-11-%02dT%02d:%02d:%02d.%03d+01:00"
                       % (1 + i % 20, 6 + i % 14, i % 60, (i * 7) % 60,
                          i % 1000),
        "answers": answers,
    }


DIARY_TYPES = ["integer", "string", "decimal", "boolean", "choice", "date",
               "string", "integer"]
CHOICES = ["nausea", "headache", "dizziness", "fatigue", "insomnia",
           "rash", "none"]


def diary_value(k):
    t = DIARY_TYPES[k % len(DIARY_TYPES)]
    if t == "integer":
        return k % 11
    if t == "decimal":
        return round(36.1 + (k % 17) / 10, 1)
    if t == "boolean":
        return k % 3 == 0
    if t == "choice":
        return [CHOICES[k % 7], CHOICES[(k + 3) % 7], CHOICES[(k + 5) % 7]]
    if t == "date":
        return "2026-11-%02d" % (1 + k % 27)
    return (SENTENCES[k % len(SENTENCES)] + " "
            + SENTENCES[(k + 5) % len(SENTENCES)])[: 70 + k % 61]


def answers200():
    answers = {"D%03d" % k: diary_value(k) for k in range(1, 201)}
    return {
        "studyId": "STUDY-BENCH-01",
        "siteId": "SITE-03",
        "subjectId": "SUBJ-02001",
        "visitName": "Week 12 diary",
        "instrument": "DIARY-200",
        "collectedAt": "2026-11-20T21:05:00+01:00",
        "answers": answers,
    }


def diary_instrument():
    items = []
    for k in range(1, 201):
        t = DIARY_TYPES[k % len(DIARY_TYPES)]
        item = {"id": "D%03d" % k, "type": t, "required": k % 2 == 0}
        if t == "integer":
            item.update(min=0, max=10)
        elif t == "decimal":
            item.update(min=30, max=45)
        elif t == "string":
            item.update(maxLength=200)
        elif t == "choice":
            item.update(choices=CHOICES, multiple=True)
        items.append(item)
    return {"code": "DIARY-200", "version": "1",
            "title": "200-item symptom diary (benchmark only)",
            "items": items}


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_all(out, conf_instruments):
    os.makedirs(out, exist_ok=True)
    files = {
        "single.json": dump(submission(0, True)),
        "single-instr.json": dump(submission(0, False)),
        "array100.json": "[" + ",".join(dump(submission(i, True))
                                         for i in range(100)) + "]",
        "array100-instr.json": "[" + ",".join(dump(submission(i, False))
                                               for i in range(100)) + "]",
        "answers200.json": dump(answers200()),
    }
    with open(conf_instruments, encoding="utf-8") as f:
        conf = json.load(f)
    conf["instruments"].append(diary_instrument())
    files["instruments-200.json"] = json.dumps(conf, ensure_ascii=False,
                                               indent=1)
    sizes = {}
    for name, text in files.items():
        data = text.encode("utf-8")
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        sizes[name] = len(data)
    return sizes


if __name__ == "__main__":
    import sys
    print(write_all(sys.argv[1], sys.argv[2]))
