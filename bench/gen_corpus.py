#!/usr/bin/python3
"""Reproducible synthetic corpus for the benchmarks: N feeds of M items (RSS 2.0,
Atom 1.0 and RSS 1.0, realistic news titles and HTML summaries, a share of them
on Iraq / US / Iran), 2 KB items as JSON lines for the classifier, 2 KB
news-like items joined from the labelled evaluation sets (denser in taxonomy
words than the synthetic ones, as real news is), and a pool of items the live
feed server draws from. The same seed always gives the same bytes."""

import argparse
import hashlib
import json
import os
import random

RELEVANT_SUBJECTS = [
    "US forces", "The Pentagon", "Iran's foreign ministry", "Iraqi security forces",
    "Kata'ib Hezbollah", "The IAEA", "Washington", "Tehran", "Baghdad", "The US Treasury",
    "Iraq's prime minister", "Iranian-backed militias", "The Revolutionary Guards",
    "The State Department", "US Central Command", "Iran's supreme leader",
    "The Popular Mobilization Forces", "Iraqi Kurdish officials", "A US envoy",
    "Iranian negotiators", "The White House", "Iraq's parliament",
]
RELEVANT_ACTIONS = [
    "launched airstrikes on militia positions near {place}",
    "imposed new sanctions on {target}",
    "held talks with {counterpart} in {city}",
    "said uranium enrichment at {site} had reached 60 percent",
    "deployed additional troops to {place}",
    "accused {counterpart} of backing rocket attacks on {base}",
    "announced a drone strike that killed a commander in {place}",
    "warned of retaliation after an attack on {base}",
    "resumed indirect nuclear talks with {counterpart}",
    "froze assets linked to {target}",
    "condemned the seizure of a tanker in the Strait of Hormuz",
    "said ISIS cells remained active in {place}",
    "agreed a timetable for the withdrawal of coalition troops from {place}",
    "reported a ballistic missile test near {site}",
    "denied involvement in an explosion at {site}",
    "extended a sanctions waiver for Iraqi imports of Iranian electricity",
]
PLACES = ["Anbar", "Erbil", "Basra", "Baghdad", "the Syrian border", "Kirkuk", "Mosul",
          "Diyala", "Nineveh", "Karbala", "Sulaymaniyah", "Jurf al-Sakhar"]
BASES = ["Ain al-Asad air base", "the US embassy in Baghdad", "Erbil airport",
         "Victory Base", "al-Harir air base", "a logistics convoy near Baghdad"]
SITES = ["Natanz", "Fordow", "Isfahan", "Arak", "Parchin", "Bushehr"]
TARGETS = ["an Iranian oil network", "IRGC front companies", "a Baghdad money exchange",
           "shipping firms carrying Iranian crude", "Iraqi militia leaders",
           "a drone procurement network"]
COUNTERPARTS = ["Iranian officials", "Iraqi leaders", "US diplomats", "European mediators",
                "Omani intermediaries", "the Iraqi government", "the Iranian delegation"]
CITIES = ["Baghdad", "Muscat", "Vienna", "Doha", "Geneva", "Tehran", "Washington"]

OTHER_SUBJECTS = [
    "The city council", "Researchers at a Dutch university", "The central bank",
    "A local bakery", "The national football team", "Shares in Asian markets",
    "The European Commission", "Forecasters", "A Brazilian start-up", "Japan's carmakers",
    "The French health ministry", "Organisers of the summer festival", "Astronomers",
    "A Canadian mining company", "The transport authority", "Hospital managers",
    "The Australian government", "A team of volcanologists", "Retailers", "The orchestra",
]
OTHER_ACTIONS = [
    "approved a new budget for road repairs in {town}",
    "published a study on sleep and memory in teenagers",
    "kept interest rates unchanged for a third month",
    "won first prize for its sourdough at the national fair",
    "beat their rivals 2-1 after extra time in {town}",
    "fell sharply as investors weighed weaker export data",
    "proposed stricter rules on single-use plastics",
    "warned of heavy snow and strong winds in {town} this weekend",
    "raised 40 million dollars to expand its delivery service",
    "recalled 120,000 vehicles over a faulty airbag sensor",
    "launched a campaign to vaccinate children against measles",
    "announced a line-up of 60 bands for the August weekend",
    "observed a comet passing closer to the Sun than expected",
    "reported record copper output from its mine in {town}",
    "opened a new tram line linking the airport to {town}",
    "cut waiting times for hip operations by a fifth",
    "pledged funds to restore coral reefs off the coast",
    "recorded a series of small earthquakes near {town}",
    "reported a rise in online sales before the holidays",
    "performed a rarely heard symphony in {town}",
]
TOWNS = ["Lyon", "Osaka", "Porto", "Leeds", "Graz", "Tampere", "Curitiba", "Adelaide",
         "Calgary", "Bergen", "Cork", "Malmo", "Utrecht", "Bologna", "Krakow"]
DETAILS = [
    "Officials said more details would be released later in the week.",
    "The announcement followed weeks of speculation in local media.",
    "Critics said the decision came too late and did too little.",
    "Analysts expect the move to have a limited effect in the short term.",
    "A spokesperson declined to comment on the timing.",
    "The figures were published in a statement on Tuesday evening.",
    "Witnesses described a large crowd gathering outside the building.",
    "The report is expected to be debated when lawmakers return next month.",
    "It was the second such incident this year, according to records.",
    "Several people were interviewed by reporters at the scene.",
    "The decision can still be appealed, lawyers said.",
    "Markets reacted calmly to the news on Wednesday morning.",
]
RELEVANT_DETAILS = [
    "Iraqi officials said the attack had not caused casualties.",
    "Tehran called the measures economic terrorism and vowed to respond.",
    "The US military said the strike was a defensive action.",
    "Diplomats said the talks in Baghdad would continue next week.",
    "The IAEA said inspectors had been denied access to the site.",
    "The militia said it would continue operations against US troops in Iraq.",
    "Washington said the sanctions target networks that fund the Revolutionary Guards.",
    "The Iraqi government urged restraint from both Washington and Tehran.",
]
AUTHORS = ["Staff", "Reuters", "AP", "Sara Haddad", "John Miller", "Leila Karimi",
           "Ahmed Jassim", "Emma Clarke", "Carlos Ruiz", "Yuki Tanaka", "News desk"]
CATEGORIES_REL = ["World", "Middle East", "Iraq", "Iran", "Politics", "Defence"]
CATEGORIES_OTHER = ["Business", "Sport", "Science", "Health", "Culture", "Weather",
                    "Technology", "Local"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def fill(rng, template):
    return template.format(place=rng.choice(PLACES), base=rng.choice(BASES),
                           site=rng.choice(SITES), target=rng.choice(TARGETS),
                           counterpart=rng.choice(COUNTERPARTS), city=rng.choice(CITIES),
                           town=rng.choice(TOWNS))


def sentence(rng, relevant):
    if relevant:
        return "%s %s." % (rng.choice(RELEVANT_SUBJECTS), fill(rng, rng.choice(RELEVANT_ACTIONS)))
    return "%s %s." % (rng.choice(OTHER_SUBJECTS), fill(rng, rng.choice(OTHER_ACTIONS)))


def make_item(rng, relevant, summary_bytes):
    """A news item: title, plain-text paragraphs of about summary_bytes, categories."""
    title = sentence(rng, relevant)[:-1]
    paras, size = [], 0
    while size < summary_bytes:
        n = rng.randint(2, 4)
        sents = []
        for _ in range(n):
            r = rng.random()
            if relevant and r < 0.45:
                sents.append(rng.choice(RELEVANT_DETAILS))
            elif r < 0.75:
                sents.append(sentence(rng, relevant and rng.random() < 0.7))
            else:
                sents.append(rng.choice(DETAILS))
        p = " ".join(sents)
        paras.append(p)
        size += len(p) + 1
    cats = rng.sample(CATEGORIES_REL if relevant else CATEGORIES_OTHER, rng.randint(1, 3))
    return {"title": title, "paras": paras, "categories": cats,
            "author": rng.choice(AUTHORS), "relevant": relevant}


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_summary(rng, paras):
    """HTML as feeds carry it: paragraphs, a link now and then, an entity or two."""
    out = []
    for p in paras:
        if rng.random() < 0.2:
            words = p.split(" ")
            k = rng.randint(0, max(0, len(words) - 3))
            words[k] = '<a href="https://example.org/t/%d">%s</a>' % (rng.randint(1, 9999), words[k])
            p = " ".join(words)
        out.append("<p>%s</p>" % p.replace(" - ", " &ndash; "))
    return "".join(out)


def rfc822(rng, i):
    return "%s, %02d %s 2026 %02d:%02d:%02d +0000" % (
        DAYS[i % 7], 1 + i % 28, MONTHS[(i // 28) % 12], rng.randint(0, 23), rng.randint(0, 59),
        rng.randint(0, 59))


def rfc3339(rng, i):
    return "2026-%02d-%02dT%02d:%02d:%02dZ" % (1 + (i // 28) % 12, 1 + i % 28, rng.randint(0, 23),
                                               rng.randint(0, 59), rng.randint(0, 59))


def slug(title):
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in title.split()[:6])


def rss20(rng, fidx, items):
    host = "news%d.example.com" % fidx
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n'
           '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
           '<title>Newsroom %d - World</title>\n<link>https://%s/</link>\n'
           '<description>Latest news from newsroom %d</description>\n<language>en</language>\n'
           '<atom:link href="https://%s/rss" rel="self" type="application/rss+xml"/>\n'
           % (fidx, host, fidx, host)]
    for j, it in enumerate(items):
        link = "https://%s/2026/%s-%d" % (host, slug(it["title"]), j)
        cats = "".join("<category>%s</category>" % c for c in it["categories"])
        body = html_summary(rng, it["paras"])
        if rng.random() < 0.3:
            desc = "<![CDATA[%s]]>" % body
        else:
            desc = esc(body)
        out.append("<item>\n<title>%s</title>\n<link>%s</link>\n"
                   "<guid isPermaLink=\"true\">%s</guid>\n<pubDate>%s</pubDate>\n"
                   "<dc:creator>%s</dc:creator>\n%s\n<description>%s</description>\n</item>\n"
                   % (esc(it["title"]), link, link, rfc822(rng, j), esc(it["author"]), cats, desc))
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def atom10(rng, fidx, items):
    host = "wire%d.example.net" % fidx
    out = ['<?xml version="1.0" encoding="utf-8"?>\n'
           '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
           '<title>Wire %d</title>\n<id>tag:%s,2026:feed</id>\n'
           '<link rel="alternate" href="https://%s/"/>\n<updated>2026-05-01T12:00:00Z</updated>\n'
           % (fidx, host, host)]
    for j, it in enumerate(items):
        cats = "".join('<category term="%s"/>' % c for c in it["categories"])
        out.append("<entry>\n<title type=\"text\">%s</title>\n<id>tag:%s,2026:%d</id>\n"
                   "<link rel=\"alternate\" href=\"https://%s/a/%d\"/>\n"
                   "<published>%s</published>\n<updated>%s</updated>\n"
                   "<author><name>%s</name></author>\n%s\n<summary type=\"html\">%s</summary>\n"
                   "</entry>\n"
                   % (esc(it["title"]), host, j, host, j, rfc3339(rng, j), rfc3339(rng, j),
                      esc(it["author"]), cats, esc(html_summary(rng, it["paras"]))))
    out.append("</feed>\n")
    return "".join(out)


def rss10(rng, fidx, items):
    host = "rdf%d.example.org" % fidx
    out = ['<?xml version="1.0" encoding="utf-8"?>\n'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
           '<channel rdf:about="https://%s/"><title>Bulletin %d</title><link>https://%s/</link>'
           '<description>Bulletin</description></channel>\n' % (host, fidx, host)]
    for j, it in enumerate(items):
        link = "https://%s/b/%d" % (host, j)
        out.append("<item rdf:about=\"%s\">\n<title>%s</title>\n<link>%s</link>\n"
                   "<dc:date>%s</dc:date>\n<dc:creator>%s</dc:creator>\n"
                   "<description>%s</description>\n</item>\n"
                   % (link, esc(it["title"]), link, rfc3339(rng, j), esc(it["author"]),
                      esc(html_summary(rng, it["paras"]))))
    out.append("</rdf:RDF>\n")
    return "".join(out)


EVAL_SETS = ["items.jsonl", "dev2.jsonl", "dev3.jsonl"]  # the tuning sets, not the holdouts


def news_jsonl(path, size, count=5000):
    """Items of about size bytes of text, each made of consecutive labelled
    evaluation items (the first one's title, then titles and bodies), cycling
    through the sets in file order."""
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "eval")
    src = []
    for name in EVAL_SETS:
        with open(os.path.join(top, name), encoding="utf-8") as fh:
            src += [json.loads(line) for line in fh if line.strip()]
    k = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(count):
            title, body = src[k % len(src)]["title"], ""
            while len(title) + len(body) < size:
                o = src[k % len(src)]
                part = o["body"] if not body and o["title"] == title else o["title"] + ". " + o["body"]
                body = (body + " " + part) if body else part
                k += 1
            fh.write(json.dumps({"id": "n-%d" % i, "title": title, "body": body[:size - len(title)],
                                 "categories": ["World"]}, ensure_ascii=False) + "\n")
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20260501)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=250)
    ap.add_argument("--relevant-share", type=float, default=0.25)
    ap.add_argument("--classify-items", type=int, default=20000)
    ap.add_argument("--classify-bytes", type=int, default=2048)
    ap.add_argument("--pool", type=int, default=5000)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    feeds_dir = os.path.join(args.out, "feeds")
    os.makedirs(feeds_dir, exist_ok=True)
    digest = hashlib.sha256()
    total_bytes = total_items = relevant = 0
    names = []
    for f in range(args.feeds):
        items = []
        for _ in range(args.items):
            rel = rng.random() < args.relevant_share
            relevant += rel
            items.append(make_item(rng, rel, rng.randint(250, 700)))
        kind = f % 10
        if kind < 7:
            text = rss20(rng, f, items)
        elif kind < 9:
            text = atom10(rng, f, items)
        else:
            text = rss10(rng, f, items)
        data = text.encode("utf-8")
        name = "f%04d.xml" % f
        with open(os.path.join(feeds_dir, name), "wb") as fh:
            fh.write(data)
        names.append(name)
        digest.update(data)
        total_bytes += len(data)
        total_items += len(items)

    def jsonl(path, count, size, prefix):
        n_rel = nbytes = 0
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(count):
                rel = rng.random() < args.relevant_share
                n_rel += rel
                it = make_item(rng, rel, size)
                body = " ".join(it["paras"])
                body = body[:size - len(it["title"])]
                line = json.dumps({"id": "%s-%d" % (prefix, i), "title": it["title"],
                                   "body": body, "categories": it["categories"]},
                                  ensure_ascii=False)
                nbytes += len(it["title"]) + len(body)
                fh.write(line + "\n")
                digest.update(line.encode("utf-8"))
        return n_rel, nbytes

    crel, ctext = jsonl(os.path.join(args.out, "items2k.jsonl"), args.classify_items,
                        args.classify_bytes, "c")
    jsonl(os.path.join(args.out, "pool.jsonl"), args.pool, 500, "p")
    nnews = news_jsonl(os.path.join(args.out, "news2k.jsonl"), args.classify_bytes)
    manifest = {
        "seed": args.seed, "feeds": args.feeds, "items_per_feed": args.items,
        "feed_items": total_items, "feed_bytes": total_bytes,
        "feed_relevant_share": round(relevant / max(1, total_items), 3),
        "classify_items": args.classify_items, "classify_text_bytes": ctext,
        "classify_relevant_share": round(crel / max(1, args.classify_items), 3),
        "news_items": nnews,
        "pool_items": args.pool, "sha256": digest.hexdigest(), "files": names,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    print(json.dumps({k: v for k, v in manifest.items() if k != "files"}))


if __name__ == "__main__":
    main()
