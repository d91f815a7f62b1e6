#!/usr/bin/python3
"""Feed parser conformance: run `tigris parse` over the feedparser test corpus.

Every corpus file carries an `Expect:` line, a Python expression over
feedparser's result. This harness serves each file from a loopback HTTP server
(with the headers its `Header:` lines ask for), fetches it, runs
`tigris parse --base URL --content-type TYPE FILE`, maps our JSON onto the
feedparser names it can honestly answer for, and evaluates the expression with a
whitelisting evaluator. Expressions that touch anything we do not produce count
as not applicable. Standard library only.
"""

import argparse
import ast
import calendar
import concurrent.futures
import html.parser
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

FOLDERS = ["wellformed", "illformed", "entities", "encoding", "json"]
PORT = 8097  # the expectations hard-code it; another port is substituted if busy


class NotApplicable(Exception):
    """The expectation needs something tigris does not produce."""


# --- plain text, as tigris makes it -------------------------------------------

BLOCKS = set(
    "address article aside blockquote br caption dd div dl dt figcaption figure "
    "footer h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody "
    "td tfoot th thead tr ul img".split()
)


class _Stripper(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in BLOCKS:
            self.out.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCKS:
            self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCKS:
            self.out.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def plain(s):
    """Plain text of an HTML fragment: tags stripped, references decoded,
    ASCII whitespace collapsed, control characters dropped."""
    p = _Stripper()
    p.feed(s)
    p.close()
    t = "".join(p.out)
    t = "".join(c for c in t if not (ord(c) < 32 and c not in "\t\n\r\f\v")
                and not (0x7F <= ord(c) < 0xA0))
    return re.sub(r"[ \t\n\r\f\v]+", " ", t).strip(" ")


def collapse(s):
    return re.sub(r"[ \t\n\r\f\v]+", " ", s).strip(" ")


class Text(str):
    """One of our plain-text strings: equal to feedparser's (HTML) value when it
    is equal to that value's plain text."""

    def __eq__(self, other):
        if not isinstance(other, str):
            return False
        p = plain(other)
        if p == "" and other.strip() != "":
            raise NotApplicable("markup without text")
        # feedparser's value is HTML, or text it left as is (text/plain).
        return str(self) in (p, collapse(other))

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__


def parsed_date(s):
    t = calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
    return time.gmtime(t)


# --- our JSON seen through feedparser's names ----------------------------------

class Node(dict):
    """A feedparser-style dict over our output: a key we produce answers; a key we
    do not produce makes the expectation not applicable."""

    def __init__(self, known, values):
        super().__init__(values)
        self.known = known

    def _check(self, key):
        if key not in self.known:
            raise NotApplicable(key)

    def __getitem__(self, key):
        self._check(key)
        return dict.__getitem__(self, key)

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key)

    def __contains__(self, key):
        self._check(key)
        return dict.__contains__(self, key)

    def get(self, key, default=None):
        self._check(key)
        return dict.get(self, key, default)

    def has_key(self, key):
        return key in self


DETAIL_KEYS = {"value"}
FEED_KEYS = {
    "title", "title_detail", "link", "subtitle", "subtitle_detail", "tagline",
    "tagline_detail", "description", "updated_parsed", "modified_parsed",
}
ENTRY_KEYS = {
    "title", "title_detail", "link", "id", "guid", "summary", "summary_detail",
    "description", "published_parsed", "issued_parsed", "updated_parsed",
    "modified_parsed", "authors", "author_detail", "tags",
}
TOP_NAMES = {"bozo", "feed", "entries", "version", "len", "ord", "isinstance", "str",
             "True", "False", "None"}

VERSIONS = {
    "rss091u": "rss091", "rss091n": "rss091", "rss093": "rss092", "rss094": "rss092",
    "json1": "json10", "json11": "json11",
}


class Version(str):
    def __eq__(self, other):
        if isinstance(other, str):
            return str.__eq__(str(self), VERSIONS.get(other, other))
        return False

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__


def detail(v):
    return Node(DETAIL_KEYS, {"value": Text(v)})


def feed_node(f):
    v = {}
    if "title" in f:
        v["title"] = Text(f["title"])
        v["title_detail"] = detail(f["title"])
    if "link" in f:
        v["link"] = f["link"]
    if "subtitle" in f:
        for k in ("subtitle", "tagline", "description"):
            v[k] = Text(f["subtitle"])
            v[k + "_detail"] = detail(f["subtitle"])
    if "updated" in f:
        v["updated_parsed"] = v["modified_parsed"] = parsed_date(f["updated"])
    return Node(FEED_KEYS, v)


def entry_node(e):
    v = {}
    if "title" in e:
        v["title"] = Text(e["title"])
        v["title_detail"] = detail(e["title"])
    for k in ("link",):
        if k in e:
            v[k] = e[k]
    if "id" in e:
        v["id"] = v["guid"] = e["id"]
    if "summary" in e:
        for k in ("summary", "description"):
            v[k] = Text(e["summary"])
        v["summary_detail"] = detail(e["summary"])
    if "published" in e:
        v["published_parsed"] = v["issued_parsed"] = parsed_date(e["published"])
    upd = e.get("updated", e.get("published"))
    if upd:
        v["updated_parsed"] = v["modified_parsed"] = parsed_date(upd)
    if e.get("authors"):
        v["authors"] = [Node({"name"}, {"name": Text(a)}) for a in e["authors"]]
        v["author_detail"] = v["authors"][0]
    if e.get("tags"):
        v["tags"] = [Node({"term"}, {"term": Text(t)}) for t in e["tags"]]
    return Node(ENTRY_KEYS, v)


def namespace_for(result):
    return {
        "bozo": bool(result.get("bozo")),
        "feed": feed_node(result.get("feed", {})),
        "entries": [entry_node(e) for e in result.get("entries", [])],
        "version": Version(result.get("version", "")),
        "len": len,
        "ord": ord,
        "isinstance": isinstance,
        "str": str,
    }


# --- safe evaluation --------------------------------------------------------

ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
    ast.Compare, ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.Lt,
    ast.Gt, ast.LtE, ast.GtE, ast.Subscript, ast.Name, ast.Constant, ast.Load,
    ast.Tuple, ast.List, ast.Dict, ast.BinOp, ast.Add, ast.Attribute, ast.Call,
    ast.Index if hasattr(ast, "Index") else ast.Constant,
)
ALLOWED_ATTRS = {"get", "has_key"}
ALLOWED_CALLS = {"len", "ord", "isinstance", "str"}


def key_path(node):
    """('feed', 'title', 'value') for feed['title']['value'] / feed.title.value,
    or None when the chain does not start at feed or entries."""
    keys = []
    while True:
        if isinstance(node, ast.Subscript):
            sl = node.slice
            if hasattr(ast, "Index") and isinstance(sl, ast.Index):
                sl = sl.value
            if isinstance(sl, ast.Constant) and isinstance(sl.value, str):
                keys.append(sl.value)
            elif not (isinstance(sl, ast.Constant) and isinstance(sl.value, int)):
                keys.append(None)
            node = node.value
        elif isinstance(node, ast.Attribute):
            keys.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and node.args \
                and isinstance(node.args[0], ast.Constant):
            keys.append(node.args[0].value)
            node = node.func.value
        elif isinstance(node, ast.Name):
            keys.append(node.id)
            return list(reversed(keys))
        else:
            return None


def applicable(tree):
    """Raise NotApplicable when the expression reads a name or field we do not
    produce; raise ValueError when it uses a construct we refuse to evaluate."""
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ValueError("construct %s" % type(node).__name__)
        if isinstance(node, ast.Name) and node.id not in TOP_NAMES:
            raise NotApplicable(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise ValueError("private attribute")
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id not in ALLOWED_CALLS:
                raise NotApplicable(f.id)
            if isinstance(f, ast.Attribute) and f.attr not in ALLOWED_ATTRS:
                raise NotApplicable(f.attr)
    for node in ast.walk(tree):
        # A value that is markup without any text has no plain-text form.
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.strip() and "<" in node.value and plain(node.value) == "":
            raise NotApplicable("markup without text")
    for node in ast.walk(tree):
        path = key_path(node) if isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)) \
            else None
        if not path:
            continue
        known = {"feed": FEED_KEYS, "entries": ENTRY_KEYS}.get(path[0])
        if known is None or len(path) < 2:
            continue
        k = path[1]
        if k in ("get", "has_key"):
            continue
        if k not in known:
            raise NotApplicable(k)
        if len(path) > 2 and path[2] not in (None, "get", "has_key"):
            sub = {"title_detail": DETAIL_KEYS, "summary_detail": DETAIL_KEYS,
                   "subtitle_detail": DETAIL_KEYS, "tagline_detail": DETAIL_KEYS,
                   "author_detail": {"name"}, "authors": {"name"}, "tags": {"term"}}
            if k in sub and path[2] not in sub[k]:
                raise NotApplicable(k + "." + path[2])


def evaluate(expr, ns):
    tree = ast.parse(expr, mode="eval")
    applicable(tree)
    code = compile(tree, "<expect>", "eval")
    return bool(eval(code, {"__builtins__": {}}, ns))  # noqa: S307 (whitelisted AST)


# --- the corpus -------------------------------------------------------------

def decode_for_header(data):
    """The corpus file as text, whatever its encoding, to find its header lines."""
    for enc in ("utf-32", "utf-16", "utf-32-be", "utf-32-le", "utf-16-be", "utf-16-le"):
        try:
            t = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "Expect:" in t:
            return t
    return data.decode("latin-1")


def read_case(path):
    data = open(path, "rb").read()
    text = decode_for_header(data)
    case = {"path": path, "headers": [], "expect": None, "skip": None}
    if path.endswith(".json"):
        m = re.search(r'"__TEST__":\s*"(.*?)"', text)
        block = m.group(1) if m else ""
        m = re.search(r"Expect:\s*(.*?)\s*-->", block)
        case["expect"] = m.group(1) if m else None
        return case
    m = re.search(r"<!--(.*?)-->", text, re.S)
    if not m:
        return case
    for line in m.group(1).splitlines():
        line = line.strip()
        if line.startswith("Expect:"):
            case["expect"] = line[len("Expect:"):].strip()
        elif line.startswith("Header:"):
            h = line[len("Header:"):].strip()
            if ":" in h:
                k, v = h.split(":", 1)
                case["headers"].append((k.strip(), v.strip()))
        elif line.startswith("SkipUnless:"):
            case["skip"] = line[len("SkipUnless:"):].strip()
    return case


def skip_reason(case):
    if os.sep + "cdf" + os.sep in case["path"]:
        return "CDF is not a format tigris reads"
    s = case["skip"]
    if not s:
        return None
    if "chardet" in s:
        return "needs chardet-style guessing"
    if "ACCEPTABLE_URI_SCHEMES" in s:
        return "feedparser setting"
    return None  # codec lookups and version checks: iconv has the codecs


class Handler(http.server.BaseHTTPRequestHandler):
    corpus = None
    cases = None

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        rel = self.path.split("?", 1)[0]
        if not rel.startswith("/tests/"):
            self.send_error(404)
            return
        path = os.path.normpath(os.path.join(self.corpus, rel[len("/tests/"):]))
        if not path.startswith(self.corpus) or not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        headers = self.cases.get(path, {}).get("headers", [])
        self.send_response(200)
        names = {k.lower() for k, _ in headers}
        if "content-type" not in names:
            self.send_header("Content-Type",
                             "application/json" if path.endswith(".json") else "application/xml")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_server(corpus, cases):
    Handler.corpus = corpus
    Handler.cases = cases
    for port in (PORT, 0):
        try:
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
            break
        except OSError:
            continue
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


def run_case(case, tigris, corpus, port, tmpdir):
    rel = os.path.relpath(case["path"], corpus)
    url = "http://127.0.0.1:%d/tests/%s" % (port, rel)
    expect = case["expect"]
    if port != PORT:
        expect = expect.replace("127.0.0.1:%d" % PORT, "127.0.0.1:%d" % port)
    why = skip_reason(case)
    if why:
        return "n/a", why
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = r.read()
            ctype = r.headers.get("Content-Type")
            loc = r.headers.get("Content-Location")
    except (urllib.error.URLError, OSError) as e:
        return "error", "fetch: %s" % e
    base = urllib.parse.urljoin(url, loc) if loc else url
    fd, tmp = tempfile.mkstemp(dir=tmpdir, suffix=os.path.splitext(rel)[1])
    with os.fdopen(fd, "wb") as f:
        f.write(body)
    cmd = [tigris, "parse", "--base", base]
    if ctype:
        cmd += ["--content-type", ctype]
    cmd.append(tmp)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "crash", "timeout"
    finally:
        os.unlink(tmp)
    err = p.stderr.decode(errors="replace")
    # A sanitizer build may exit 1 like a refusal: its report gives it away.
    if p.returncode < 0 or p.returncode > 1 or "Sanitizer" in err or "runtime error:" in err:
        return "crash", "exit %d: %s" % (p.returncode, err[-300:])
    if p.returncode == 1:
        # Refused as not a feed: feedparser's equivalent is an empty bozo result.
        result = {"bozo": True, "feed": {}, "entries": [], "version": ""}
    else:
        try:
            result = json.loads(p.stdout)
        except ValueError as e:
            return "crash", "bad JSON output: %s" % e
    try:
        ok = evaluate(expect, namespace_for(result))
    except NotApplicable as e:
        return "n/a", "uses %s" % e
    except ValueError as e:
        return "n/a", "not evaluated: %s" % e
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        return "fail", "%s: %s" % (type(e).__name__, e)
    return ("pass", "") if ok else ("fail", "false")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tigris", required=True, help="path of the tigris binary")
    ap.add_argument("--corpus", required=True, help="folder holding wellformed/ illformed/ ...")
    ap.add_argument("--folder", action="append", help="only this folder (repeatable)")
    ap.add_argument("--verbose", "-v", action="store_true", help="show every failure's output")
    ap.add_argument("--jobs", "-j", type=int, default=8)
    ap.add_argument("--min-pass", type=float, default=97.0,
                    help="exit 1 when the pass rate of applicable cases is below this percent "
                         "(default 97)")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    tigris = os.path.abspath(args.tigris)
    folders = args.folder or FOLDERS
    cases = {}
    for folder in folders:
        for root, _, files in os.walk(os.path.join(corpus, folder)):
            for name in sorted(files):
                path = os.path.join(root, name)
                c = read_case(path)
                if c["expect"]:
                    c["folder"] = folder
                    cases[path] = c
    srv = start_server(corpus, cases)
    port = srv.server_address[1]
    results = {}
    with tempfile.TemporaryDirectory() as tmpdir, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        futs = {ex.submit(run_case, c, tigris, corpus, port, tmpdir): p for p, c in cases.items()}
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()
    srv.shutdown()

    totals = {"pass": 0, "fail": 0, "n/a": 0, "crash": 0, "error": 0}
    print("%-12s %6s %6s %6s %6s" % ("folder", "pass", "fail", "n/a", "crash"))
    for folder in folders:
        t = {k: 0 for k in totals}
        for p, c in cases.items():
            if c["folder"] == folder:
                t[results[p][0]] += 1
        for k in totals:
            totals[k] += t[k]
        print("%-12s %6d %6d %6d %6d" % (folder, t["pass"], t["fail"], t["n/a"],
                                         t["crash"] + t["error"]))
    print("%-12s %6d %6d %6d %6d" % ("total", totals["pass"], totals["fail"], totals["n/a"],
                                     totals["crash"] + totals["error"]))
    applicable_n = totals["pass"] + totals["fail"] + totals["crash"] + totals["error"]
    rate = 100.0 * totals["pass"] / applicable_n if applicable_n else 100.0
    print("pass rate of applicable expectations: %.2f%% (%d/%d)" % (rate, totals["pass"],
                                                                  applicable_n))
    bad = sorted(p for p in cases if results[p][0] in ("fail", "crash", "error"))
    if bad:
        print("\nfailures:")
        for p in bad:
            st, why = results[p]
            print("  %s %s: %s" % (st.upper(), os.path.relpath(p, corpus), why))
            print("      expect: %s" % cases[p]["expect"])
    crashes = totals["crash"] + totals["error"]
    return 1 if crashes or rate < args.min_pass else 0


if __name__ == "__main__":
    sys.exit(main())
