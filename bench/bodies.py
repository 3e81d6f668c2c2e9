"""Request bodies for bench/run.sh (issue #4), written into a directory.

single.json          one PHQ-9 submission padded with a free-text item to
                     ~1 KB (for the location without instrument definitions)
single-id.json       single.json with a client submissionId (FHIR_ID, which
                     bench/post_unique.lua replaces per request): the
                     native side of the FHIR ratio, whose body carries an
                     identifier too
single-instr.json    the same PHQ-9 submission without the free text (~0.3 KB),
                     valid under conf/instruments.json (strict policy)
array100.json        an array of 100 submissions like single.json (~100 KB)
array100-instr.json  an array of 100 like single-instr.json (~30 KB)
answers200.json      one submission with 200 answers of mixed types (~8 KB)
instruments-200.json conf/instruments.json plus a "DIARY-200" instrument that
                     describes answers200.json (core micro-benchmark only)
fhir-phq9.json       a US-Core-shaped FHIR R4 PHQ-9 QuestionnaireResponse
                     (~4 KB: meta.profile, identifier, item text, LOINC
                     codings with display, the total), valid against
                     conf/fhir/phq-9.json (core micro-benchmark and Medplum)
fhir-phq9-<case>.json  the same with one fault each (FHIR_FAULTS): which of
                     them the module and @medplum/core refuse
fhir-bundle100.json  a FHIR transaction Bundle of 100 such responses
                     (compact JSON, ~300 KB), each POSTed to
                     QuestionnaireResponse, without identifier (as
                     array100 without submissionId): a static body
fhir-row-*           one Bundle entry's row for pgbench's FHIR rows: the
                     payload and the answers column

No other native body carries a submissionId: the module makes a fresh
UUIDv7 per submission, so hey's and wrk's identical bodies all become new
rows.
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

# fhir-phq9.json's identifier (its submission id); bench/post_unique.lua
# puts a UUID of its own per request in its place
FHIR_ID = "5b1c2e3a-9d4f-4e6a-8b7c-0d1e2f3a4b5c"


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


def fhir_phq9(conf_phq9):
    """Built from the shipped Questionnaire, so that it stays valid against
    it: each question's answer is one of its options, the total item the
    sum of their ordinalValues."""
    with open(conf_phq9, encoding="utf-8") as f:
        q = json.load(f)
    items, total = [], 0
    for k, it in enumerate(q["item"]):
        if it["type"] == "display":
            continue
        out = {"linkId": it["linkId"], "text": it["text"]}
        if it["type"] == "integer":
            out["answer"] = [{"valueInteger": None}]
            total_item = out
        else:
            opts = it["answerOption"]
            opt = opts[(k * 5) % len(opts)] if it.get("required") \
                else opts[1]
            if it.get("required"):
                total += int([e["valueDecimal"] for e in opt["extension"]
                              if e["url"].endswith("/ordinalValue")][0])
            out["answer"] = [{"valueCoding": dict(opt["valueCoding"])}]
        items.append(out)
    total_item["answer"][0]["valueInteger"] = total
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "phq9-bench-1",
        "meta": {"profile": [
            "http://hl7.org/fhir/us/core/StructureDefinition/"
            "us-core-questionnaireresponse"]},
        "text": {"status": "generated",
                 "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">"
                        "PHQ-9 (patient self-report), 2026-11-27: total "
                        "score %d, entered on the patient app.</div>"
                        % total},
        "identifier": {"system": "https://app.example.org/fhir/qr-id",
                       "value": "urn:uuid:" + FHIR_ID},
        "questionnaire": "%s|%s" % (q["url"], q["version"]),
        "status": "completed",
        "subject": {"reference": "Patient/pat-0017", "display": "Amy Shaw"},
        "encounter": {"reference": "Encounter/visit-3"},
        "authored": "2026-11-27T08:15:00+01:00",
        "author": {"reference": "Patient/pat-0017"},
        "source": {"reference": "Patient/pat-0017"},
        "item": items,
    }


def fhir_text(obj):
    return json.dumps(obj, ensure_ascii=False, indent=1)


def fhir_bundle(res, n):
    """Like array100, whose submissions carry no submissionId, the entries
    carry no identifier: each gets a fresh UUIDv7, so the same bytes sent
    again are new rows and wrk sends a static body (post.lua).  Each entry
    has a fullUrl of its own (bdl-7)."""
    res = dict(res)
    del res["identifier"]
    entries = []
    for i in range(n):
        entries.append(dump({
            "fullUrl": "urn:uuid:6a1e0c00-0000-4000-8000-%012d" % i,
            "resource": res,
            "request": {"method": "POST", "url": "QuestionnaireResponse"}}))
    return ('{"resourceType":"Bundle","type":"transaction","entry":['
            + ",".join(entries) + "]}")


def _fault_text(base, fn):
    obj = json.loads(json.dumps(base))
    out = fn(obj)
    return out if isinstance(out, str) else fhir_text(obj)


def _item(obj, link_id):
    return [i for i in obj["item"] if i["linkId"] == link_id][0]


# name: (what is wrong, how); a str result is the body's text itself
FHIR_FAULTS = {
    "status-bogus": ("status \"bogus\" (not an R4 status code)",
                     lambda o: o.update(status="bogus")),
    "total-10.0": ("the total written 10.0 (a valueInteger with a fraction)",
                   lambda o: fhir_text(o).replace(
                       '"valueInteger": %d' % _item(o, "44261-6")["answer"]
                       [0]["valueInteger"],
                       '"valueInteger": %d.0' % _item(o, "44261-6")
                       ["answer"][0]["valueInteger"])),
    "total-wrong": ("a total that is not the sum of the ordinalValues",
                    lambda o: _item(o, "44261-6")["answer"][0].update(
                        valueInteger=_item(o, "44261-6")["answer"][0]
                        ["valueInteger"] + 1)),
    "code-unknown": ("an answer code that is not one of the options",
                     lambda o: o["item"][0]["answer"][0]["valueCoding"]
                     .update(code="LA9999-9")),
    "required-missing": ("a required question left out (completed)",
                         lambda o: o["item"].pop(2)),
    "linkid-unknown": ("an item whose linkId the Questionnaire lacks",
                       lambda o: o["item"].append(
                           {"linkId": "99999-9",
                            "answer": [{"valueString": "x"}]})),
    "order": ("two questions swapped (not the Questionnaire's order)",
              lambda o: o["item"].insert(0, o["item"].pop(1))),
    "two-answers": ("two answers to a question that does not repeat",
                    lambda o: o["item"][0]["answer"].append(
                        dict(o["item"][1]["answer"][0]))),
    "text-changed": ("an item text that is not the Questionnaire's",
                     lambda o: o["item"][0].update(text="Something else")),
    "wrong-type": ("a valueString on a choice question",
                   lambda o: o["item"][0].update(
                       answer=[{"valueString": "Several days"}])),
    "authored-no-offset": ("authored with a time but no offset",
                           lambda o: o.update(
                               authored="2026-11-27T08:15:00")),
    "unknown-element": ("an element R4 does not define",
                        lambda o: o.update(foo=1)),
}


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_all(out, conf_instruments):
    os.makedirs(out, exist_ok=True)
    files = {
        "single.json": dump(submission(0, True)),
        "single-id.json": dump(dict({"submissionId": FHIR_ID},
                                    **submission(0, True))),
        "single-instr.json": dump(submission(0, False)),
        "array100.json": "[" + ",".join(dump(submission(i, True))
                                         for i in range(100)) + "]",
        "array100-instr.json": "[" + ",".join(dump(submission(i, False))
                                               for i in range(100)) + "]",
        "answers200.json": dump(answers200()),
    }
    phq9 = fhir_phq9(os.path.join(os.path.dirname(conf_instruments),
                                  "fhir", "phq-9.json"))
    files["fhir-phq9.json"] = fhir_text(phq9)
    files["fhir-bundle100.json"] = fhir_bundle(phq9, 100)
    # pgbench's FHIR row (bench.py): an entry's resource as stored, and
    # the answers column the module makes of it (code or value by linkId)
    entry = dict(phq9)
    del entry["identifier"]
    files["fhir-row-payload.txt"] = dump(entry)
    files["fhir-row-answers.json"] = json.dumps(
        {it["linkId"]: (it["answer"][0].get("valueCoding", {}).get("code")
                        or it["answer"][0].get("valueInteger"))
         for it in phq9["item"] if it.get("answer")})
    for name, (_, fn) in FHIR_FAULTS.items():
        files["fhir-phq9-%s.json" % name] = _fault_text(phq9, fn)
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
