#!/usr/bin/python3
"""`tigris classify` as a user runs it: JSON lines in, one result line out per
input line; --explain quotes each piece of evidence from the text; --html turns
feed markup into plain text the way tigrisd does, so that a link's address or an
entity cannot make or break a tag; a bad line is reported with its number and
the lines after it are still classified."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1

TIGRIS = os.path.join(tgtest.BIN, "tigris")


def classify(lines, *args):
    text = "".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines)
    p = subprocess.run([TIGRIS, "classify", "--taxonomy", tgtest.TAXONOMY, *args],
                       input=text, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def by_id(out):
    res = {}
    for line in out.splitlines():
        obj = json.loads(line)
        res[obj.get("id", "line %s" % obj.get("line"))] = obj
    return res


# A feed's description as RSS delivers it: the topic words are only in a link's
# address and an image's alt text, and the militia's name is written with a
# character reference for its apostrophe.
MARKUP = {
    "id": "markup",
    "title": "Markets rally as oil falls",
    "body": '<p>Stocks rose on Monday. <a href="https://example.com/world/iran-nuclear-'
            'talks-strike">Read more</a></p><img src="x.jpg" alt="">',
}
ENTITY = {
    "id": "entity",
    "title": "Kata&#8217;ib Hezbollah claims rocket fire",
    "body": "<p>The group said it fired rockets at Ain al-Asad air base in western "
            "Iraq, which hosts US troops.</p>",
}
PLAIN = {
    "id": "plain",
    "title": "US strike kills Kataib Hezbollah commander in Baghdad",
    "body": "A US drone strike in Baghdad killed a senior commander of Kataib Hezbollah, "
            "the Pentagon said.",
}


def main():
    # Plain JSON lines: tags, relevance, taxonomy version, evidence with offsets.
    rc, out, err = classify([PLAIN])
    check(rc == 0, "classify exits 0 on good input (rc %d, %s)" % (rc, err))
    res = by_id(out)["plain"]
    for tag in ("iraq", "us", "iraq-us", "strike", "militia"):
        check(tag in res["tags"], "plain: %s tagged (%s)" % (tag, res["tags"]))
    check(res["relevant"] is True, "plain: relevant")
    check(len(res["taxonomy"]) == 16, "plain: the taxonomy version is named")
    ev = {e["tag"]: e for e in res["evidence"]}
    strike = ev["strike"]
    check(strike["score"] >= strike["threshold"], "strike: score at least its threshold")
    first = strike["evidence"][0]
    text = PLAIN["title"] if first["field"] == "title" else PLAIN["body"]
    quoted = text.encode()[first["start"]:first["end"]].decode()
    check("strike" in quoted.lower() or "drone" in quoted.lower(),
          "strike evidence points at the words (%r)" % quoted)

    # --explain quotes the evidence for a person.
    rc, out, err = classify([PLAIN], "--explain")
    check(rc == 0, "--explain exits 0")
    check(out.startswith("plain: RELEVANT"), "--explain names the item and its relevance")
    check('"Kataib Hezbollah"' in out, "--explain quotes the matched text:\n" + out)
    check("threshold" in out, "--explain shows the threshold")

    # A tag that scored but fell short is shown as such ("why not"): --explain
    # lists it below the tags given, --near-misses adds it to the JSON line.
    near = {"id": "near", "title": "Weather in Paris", "body": "Officials in Iran said so."}
    rc, out, err = classify([near], "--explain")
    check(rc == 0 and "(no tags)" in out, "--explain: the near item has no tags:\n" + out)
    check("scored, not given" in out and "below threshold" in out and '"Iran"' in out,
          "--explain shows the near miss and its evidence:\n" + out)
    rc, out, err = classify([near, PLAIN], "--near-misses")
    res = by_id(out)
    check(res["near"]["tags"] == [], "--near-misses: no tags given (%s)" % res["near"]["tags"])
    nm = {e["tag"]: e for e in res["near"]["near_misses"]}
    check(list(nm) == ["iran"], "--near-misses: iran fell short (%s)" % list(nm))
    check(0 < nm["iran"]["score"] < nm["iran"]["threshold"],
          "--near-misses: score below the threshold (%s)" % nm["iran"])
    ev = nm["iran"]["evidence"][0]
    check(near["body"][ev["start"]:ev["end"]] == "Iran", "--near-misses: evidence (%s)" % ev)
    check(all(e["tag"] not in res["plain"]["tags"] for e in res["plain"]["near_misses"]),
          "--near-misses never lists a tag that was given")
    check("near_misses" not in by_id(classify([near])[1])["near"],
          "without --near-misses the JSON line is unchanged")

    # Without --html the markup is text: the link's address tags the item.
    rc, out, err = classify([MARKUP, ENTITY])
    raw = by_id(out)
    check(raw["markup"]["tags"] != [], "markup read as text tags words in the address "
          "(this is what --html is for): %s" % raw["markup"]["tags"])

    # With --html: tags as tigrisd would give them, and the plain text returned.
    rc, out, err = classify([MARKUP, ENTITY], "--html")
    check(rc == 0, "--html exits 0 (%s)" % err)
    res = by_id(out)
    m = res["markup"]
    check(m["tags"] == [], "--html: words in a link's address tag nothing (%s)" % m["tags"])
    check(m["text"]["body"] == "Stocks rose on Monday. Read more",
          "--html: the body is the plain text (%r)" % m["text"]["body"])
    e = res["entity"]
    check(e["text"]["title"] == "Kata\u2019ib Hezbollah claims rocket fire",
          "--html: the character reference is decoded (%r)" % e["text"]["title"])
    for tag in ("iraq", "militia", "strike"):
        check(tag in e["tags"], "--html: %s tagged (%s)" % (tag, e["tags"]))
    # every evidence offset is into the returned plain text, on character bounds
    for t in e["evidence"]:
        for x in t["evidence"]:
            field = e["text"]["title"] if x["field"] == "title" else e["text"]["body"]
            b = field.encode()
            check(0 <= x["start"] < x["end"] <= len(b),
                  "--html: evidence %s [%d,%d) inside the text" % (t["tag"], x["start"], x["end"]))
            b[x["start"]:x["end"]].decode()  # raises on a split character
    militia = [x for t in e["evidence"] if t["tag"] == "militia" for x in t["evidence"]
               if x["field"] == "title"]
    check(militia, "--html: the militia's name in the title is evidence")
    t = e["text"]["title"].encode()
    check(t[militia[0]["start"]:militia[0]["end"]].decode().startswith("Kata\u2019ib"),
          "--html: the evidence quotes the decoded name")

    # A bad line is reported with its number; the lines around it are classified.
    rc, out, err = classify([PLAIN, "{not json", {"title": "no id"}, MARKUP], "--html")
    check(rc == 1, "bad lines make the exit status 1 (rc %d)" % rc)
    res = by_id(out)
    check("plain" in res and "markup" in res, "good lines around bad ones are classified")
    check(res.get("line 2", {}).get("error"), "line 2 reported as an error")
    check("id" in res.get("line 3", {}).get("error", ""), "line 3: the missing id is named")
    check("stdin:2:" in err and "stdin:3:" in err, "stderr names the bad lines: %s" % err)
    print("PASS")


if __name__ == "__main__":
    main()
