#!/usr/bin/python3
"""End to end: a loopback HTTP server serves four feeds (RSS 2.0, Atom 1.0,
RSS 1.0 and a malformed one) to the real tigrisd with 2 workers, and real ZeroMQ
subscribers check that every item arrives exactly once with the tags the offline
classifier gives, that unchanged feeds are answered 304 and publish nothing, that
a restart republishes nothing, and that the malformed feed is logged while the
others carry on."""

import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

RSS_ITEMS = [
    ("rss-1", "US drone strike kills Kata'ib Hezbollah commander in Baghdad",
     "The Pentagon said the strike targeted a militia leader blamed for rocket attacks on US troops in Iraq."),
    ("rss-2", "Iran enriches uranium to 60 percent, IAEA report says",
     "The International Atomic Energy Agency said Tehran has expanded enrichment at Fordow."),
    ("rss-3", "Local bakery wins national bread award",
     "A family bakery in Vermont took first prize for its sourdough."),
    ("rss-4", "Football: Arsenal beat Chelsea 2-0 in the London derby",
     "Two second-half goals settled the match at the Emirates."),
]
ATOM_ITEMS = [
    ("urn:atom:1", "Treasury sanctions Iranian oil network",
     "The US Treasury froze assets of companies accused of shipping Iranian crude in violation of sanctions."),
    ("urn:atom:2", "New smartphone goes on sale",
     "The phone has a larger battery and a brighter screen."),
    ("urn:atom:3", "Iraqi prime minister meets Iranian president in Tehran",
     "Mohammed Shia al-Sudani and Masoud Pezeshkian discussed border security and trade."),
]
RDF_ITEMS = [
    ("http://rdf.example/1", "Weather: heavy snow expected in the Alps",
     "Forecasters warned of avalanche risk this weekend."),
    ("http://rdf.example/2", "ISIS cell attacks army checkpoint in Anbar",
     "Iraqi security forces said three soldiers were killed in the attack by Islamic State militants."),
]


def rss(items):
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
           '<title>Wire</title><link>https://wire.example/</link><description>d</description>']
    for guid, title, body in items:
        out.append("<item><guid isPermaLink=\"false\">%s</guid><title>%s</title>"
                   "<link>https://wire.example/%s</link><description>&lt;p&gt;%s&lt;/p&gt;</description>"
                   "<pubDate>Sat, 28 Nov 2026 09:00:00 GMT</pubDate></item>"
                   % (guid, escape(title), guid, escape(body)))
    out.append("</channel></rss>")
    return "".join(out)


def atom(items):
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
           '<title>Atom wire</title><id>urn:atom:feed</id><updated>2026-11-28T09:00:00Z</updated>']
    for aid, title, body in items:
        out.append("<entry><id>%s</id><title>%s</title><link href=\"https://atom.example/%s\"/>"
                   "<updated>2026-11-28T09:00:00Z</updated><summary>%s</summary></entry>"
                   % (aid, escape(title), aid[-1], escape(body)))
    out.append("</feed>")
    return "".join(out)


def rdf(items):
    out = ['<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://rdf.example/">'
           '<title>RDF wire</title><link>http://rdf.example/</link><description>d</description></channel>']
    for link, title, body in items:
        out.append("<item rdf:about=\"%s\"><title>%s</title><link>%s</link><description>%s</description></item>"
                   % (link, escape(title), link, escape(body)))
    out.append("</rdf:RDF>")
    return "".join(out)


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    # The feeds start empty, so that nothing is published before the
    # subscribers have joined (PUB/SUB drops messages for late joiners: the
    # reliability tests cover recovery through replay).
    server.set("/rss.xml", rss([]))
    server.set("/atom.xml", atom([]), "application/atom+xml")
    server.set("/rdf.xml", rdf([]))
    server.set("/broken.xml", "<html><body>this is not a feed <b>at all", "text/html")
    feeds = [
        {"url": server.url("/rss.xml"), "interval": 1, "name": "rss"},
        {"url": server.url("/atom.xml"), "interval": 1, "name": "atom"},
        {"url": server.url("/rdf.xml"), "interval": 1, "name": "rdf"},
        {"url": server.url("/broken.xml"), "interval": 1, "name": "broken"},
    ]
    all_items = {}
    for i in RSS_ITEMS + ATOM_ITEMS + RDF_ITEMS:
        all_items[i[0]] = {"id": i[0], "title": i[1], "body": i[2]}
    expected = tgtest.classify_offline(list(all_items.values()))

    d = tgtest.Daemon(tmp, feeds, workers=2)
    sub = tgtest.Subscriber(d.publish)
    sub_iran = tgtest.Subscriber(d.publish, topics=("tag.iran.",))
    sub_us = tgtest.Subscriber(d.publish, topics=("tag.us.",))
    try:
        d.start()
        deadline = time.time() + 10
        while time.time() < deadline and not all(server.requests(p) for p in ("/rss.xml", "/atom.xml", "/rdf.xml")):
            time.sleep(0.05)
        time.sleep(0.3)
        server.set("/rss.xml", rss(RSS_ITEMS))
        server.set("/atom.xml", atom(ATOM_ITEMS), "application/atom+xml")
        server.set("/rdf.xml", rdf(RDF_ITEMS))
        check(sub.wait_for(len(all_items), 20), "all %d items published within 20 s" % len(all_items))
        sub.poll(1.5)  # a little more: duplicates would show up here
        ids = [a["item"]["id"] for a in sub.alerts]
        check(sorted(ids) == sorted(all_items), "every item exactly once (got %s)" % sorted(ids))
        seqs = sorted(a["seq"] for a in sub.alerts)
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "sequence numbers consecutive")
        check(len({a["epoch"] for a in sub.alerts}) == 1, "one epoch")
        for a in sub.alerts:
            want_tags, want_rel = expected[a["item"]["id"]]
            got = sorted(a["tags"])
            check(got == want_tags and a["relevant"] == want_rel,
                  "%s tags %s relevant %s as classified offline" % (a["item"]["id"], got, a["relevant"]))
        byid = {a["item"]["id"]: a for a in sub.alerts}
        check("strike" in byid["rss-1"]["tags"] and "iraq" in byid["rss-1"]["tags"], "drone strike tagged iraq+strike")
        check("nuclear" in byid["rss-2"]["tags"] and "iran" in byid["rss-2"]["tags"], "IAEA item tagged iran+nuclear")
        check(byid["rss-3"]["tags"] == [] and not byid["rss-3"]["relevant"], "bakery item untagged")
        check(byid["rss-1"]["item"]["summary"].startswith("The Pentagon said"), "summary is plain text")

        sub_iran.poll(0.5)
        iran_ids = sorted(a["item"]["id"] for a in sub_iran.alerts)
        want_iran = sorted(i for i, (t, _) in expected.items() if "iran" in t)
        check(iran_ids == want_iran, "tag.iran. subscriber gets exactly the iran items %s" % want_iran)
        sub_us.poll(0.5)
        check(all("us" in a["tags"] for a in sub_us.alerts) and
              not any(a["_topic"] != "tag.us." for a in sub_us.alerts),
              "tag.us. subscriber gets only us items (never us-iran copies)")

        # Unchanged feeds: conditional GET answered 304, nothing published.
        before = len(sub.alerts)
        t0 = time.time()
        time.sleep(3)
        check(len(server.requests("/rss.xml", 304)) >= 1, "unchanged feed answered 304")
        check(len(sub.alerts) + len(sub.poll(0.2)) == before, "nothing published for unchanged feeds")

        # The malformed feed is logged, retried, and the others carried on.
        log = d.log_text()
        check("feed broken" in log, "malformed feed reported in the log with its name")
        check(len(server.requests("/broken.xml")) >= 2, "malformed feed retried")
        check(len(server.requests("/rss.xml")) >= 2, "other feeds kept being fetched")

        check(d.stop() == 0, "SIGTERM stops tigrisd with status 0")

        # Restart with the server ignoring validators: items are parsed again and
        # recognised as seen, so nothing is republished.
        server.honour_conditional = False
        d.start()
        time.sleep(3.5)
        check(len(sub.poll(0.3)) == 0, "restart republishes nothing")
        full = [r for r in server.requests("/rss.xml", 200) if r[2] > t0 + 3]
        check(len(full) >= 1, "after restart the feed was fetched in full")

        # A new item arrives once, with the next sequence number.
        server.set("/rss.xml", rss(RSS_ITEMS + [("rss-5", "Iran and US resume talks in Oman",
                                                  "Diplomats from Washington and Tehran met in Muscat.")]))
        check(sub.wait_for(before + 1, 10), "new item after restart published")
        sub.poll(1.5)
        new = sub.alerts[before:]
        check(len(new) == 1 and new[0]["item"]["id"] == "rss-5", "exactly the new item")
        check(new[0]["seq"] == seqs[-1] + 1, "sequence continues across the restart")
        check(d.stop(signal.SIGINT) == 0, "SIGINT stops tigrisd with status 0")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        sub_iran.close()
        sub_us.close()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("pipeline: all checks passed")


if __name__ == "__main__":
    main()
