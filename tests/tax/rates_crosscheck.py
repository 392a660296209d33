"""Day-by-day cross-check of billcalc's built-in rate table against independently maintained
datasets installed from package registries here (pinned versions, downloaded once):

- PyPI duty27-eu-vat 0.1.0: EU standard rates with every change since 2016 (dated);
- PyPI eu-vat-rates-data 2026.9.29: the European Commission's TEDB rates for 45 European
  jurisdictions (standard, reduced, super-reduced, parking), a snapshot;
- npm vatrates 2.0.3: EU rates as dated periods (standard, reduced, super-reduced, parking);
- npm sales-tax 2.23.0: standard rates of every country, some dated, and Canada's provinces.

For every country (EU-27, GB, NO, CH, AU, NZ, JP, SG, Canada per province) and every day from
2019-01-01 to 2026-12-31, two facts are compared: the standard rate, and the set of every other
rate (reduced, second reduced, super-reduced, parking; regional rates included, since the
datasets list Madeira's or Corsica's rates among the country's). A dataset without dates is a
claim about every day. A fact agrees when at least one dataset that states it gives the same
value. Each disagreement must fall in a reviewed range of tests/tax/rates_exceptions.tsv, which
says which side is right and cites the law; an exception no disagreement needs is stale.

Usage: python3 tests/tax/rates_crosscheck.py   (prints the counts; exits 1 on a failure)
"""
import datetime, glob, importlib, json, os, subprocess, sys, tarfile
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, "target", "ratesdata")
PYPI = {"duty27-eu-vat": ("0.1.0", "duty27_eu_vat"), "eu-vat-rates-data": ("2026.9.29", "eu_vat_rates_data")}
NPM = {"vatrates": "2.0.3", "sales-tax": "2.23.0"}
FIRST, LAST = datetime.date(2019, 1, 1), datetime.date(2026, 12, 31)
EU = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
OTHERS = "GB NO CH AU NZ JP SG".split()
PROVINCES = "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()


def pct(x):
    return Decimal(str(x)).normalize()


def ensure_pypi():
    for name, (version, module) in PYPI.items():
        try:
            importlib.import_module(module)
            from importlib.metadata import version as v
            if v(name) == version:
                continue
        except Exception:
            pass
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "%s==%s" % (name, version)])
    importlib.invalidate_caches()


def npm_json(name, version, path):
    """A file of an npm package, from `npm pack` (no install, no scripts)."""
    folder = os.path.join(CACHE, "%s-%s" % (name, version))
    if not os.path.isdir(folder):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.check_call(["npm", "pack", "--silent", "%s@%s" % (name, version)], cwd=CACHE, stdout=subprocess.DEVNULL)
        with tarfile.open(os.path.join(CACHE, "%s-%s.tgz" % (name, version))) as t:
            t.extractall(folder)
    return json.load(open(os.path.join(folder, "package", path), encoding="utf-8"))


def day_of(text):
    return datetime.date.fromisoformat(text[:10]) if not text.startswith("0000") else datetime.date(1, 1, 1)


class Dated:
    """Values by period start: the value on a day is that of the latest start on or before it."""

    def __init__(self, periods):
        self.periods = sorted(periods, key=lambda p: p[0])

    def on(self, day):
        value = None
        for start, v in self.periods:
            if start <= day:
                value = v
        return value


def datasets():
    ensure_pypi()
    import duty27_eu_vat._data as duty27
    import eu_vat_rates_data
    out = {}  # name → {place: (standard Dated | None, others Dated | None)}
    d = {}
    for code, _name, periods in duty27.DATA:
        code = "GR" if code == "EL" else code
        d[code] = (Dated([(day_of(f), pct(r)) for f, r in periods]), None)
    out["duty27-eu-vat"] = d
    d = {}
    for code, r in eu_vat_rates_data.dataset["rates"].items() if hasattr(eu_vat_rates_data, "dataset") and isinstance(eu_vat_rates_data.dataset, dict) and "rates" in eu_vat_rates_data.dataset else eu_vat_rates_data.get_all_rates().items():
        others = {pct(x) for x in r["reduced"]} | {pct(x) for x in (r["super_reduced"], r["parking"]) if x is not None}
        d[code] = (Dated([(datetime.date(1, 1, 1), pct(r["standard"]))]), Dated([(datetime.date(1, 1, 1), frozenset(others))]))
    out["eu-vat-rates-data"] = d
    d = {}
    for c in npm_json("vatrates", NPM["vatrates"], "src/json/vatrates.json")["rates"]:
        code = {"EL": "GR", "UK": "GB"}.get(c["code"], c["code"])
        std, oth = [], []
        for p in c["periods"]:
            r = p["rates"]
            start = day_of(p["effectiveFrom"])
            std.append((start, pct(r["standard"])))
            others = {pct(x) for x in r.get("reduced", [])} | {pct(r[k]) for k in ("superReduced", "parking") if k in r}
            oth.append((start, frozenset(others)))
        d[code] = (Dated(std), Dated(oth))
    out["vatrates"] = d
    d = {}
    st = npm_json("sales-tax", NPM["sales-tax"], "res/sales_tax_rates.json")

    def history(entry, value):
        # `before: {instant: {rate}}`: the rate before that instant (instants are local
        # midnights written in UTC, e.g. 2020-12-31T22:00Z for 2021-01-01 in Germany).
        points = []
        for instant, old in (entry.get("before") or {}).items():
            t = datetime.datetime.fromisoformat(instant.replace("Z", "+00:00")) + datetime.timedelta(hours=12)
            points.append((t.date(), value(old)))
        points.sort()
        periods, start = [], datetime.date(1, 1, 1)
        for boundary, v in points:
            periods.append((start, v))
            start = boundary
        periods.append((start, value(entry)))
        return Dated(periods)

    for code, entry in st.items():
        if code in EU + OTHERS:
            d[code] = (history(entry, lambda e: pct(Decimal(str(e["rate"])) * 100)), None)
    ca = st["CA"]
    for prov in PROVINCES:
        s = ca.get("states", {}).get(prov)

        def taxes(e, prov=prov):
            # HST includes the federal 5 %; GST provinces add their own tax.
            if e is None:
                return (("gst", pct(5)),)
            rate = pct(Decimal(str(e["rate"])) * 100)
            if e["type"] == "hst":
                return (("hst", pct(rate + 5)),)
            return tuple(sorted((("gst", pct(5)), (e["type"], rate))))
        d["CA-" + prov] = (history(s, taxes) if s else Dated([(datetime.date(1, 1, 1), taxes(None))]), None)
    out["sales-tax"] = d
    return out


def ours():
    build = subprocess.run(["cargo", "run", "-q", "--example", "tax_table"], cwd=ROOT, capture_output=True, text=True)
    if build.returncode:
        print(build.stderr)
        sys.exit(build.returncode)
    rows = [json.loads(l) for l in build.stdout.splitlines()]

    def in_force(r, day):
        n = day.year * 10000 + day.month * 100 + day.day
        return r["from"] <= n and (r["until"] == 0 or n < r["until"])

    def facts(place, day):
        if place.startswith("CA-"):
            prov = place[3:]
            # Manitoba's provincial sales tax is called RST; the dataset calls every one PST.
            taxes = tuple(sorted(({"rst": "pst"}.get(r["tax_type"], r["tax_type"]), pct(r["percent"])) for r in rows
                                 if r["country"] == "CA" and r["region"] == prov and in_force(r, day)))
            return taxes, None
        std = [pct(r["percent"]) for r in rows if r["country"] == place and r["region"] == "" and r["category"] == "standard" and in_force(r, day)]
        others = frozenset(pct(r["percent"]) for r in rows if r["country"] == place and in_force(r, day)
                           and not (r["region"] == "" and r["category"] == "standard"))
        return (std[0] if len(std) == 1 else tuple(std)), others
    return facts


def fmt(v):
    if isinstance(v, frozenset):
        return "{" + ", ".join(fmt(x) for x in sorted(v)) + "}"
    if isinstance(v, tuple):
        return " + ".join("%s %s" % (t, fmt(r)) for t, r in v)
    return ("%f" % v).rstrip("0").rstrip(".")


def main():
    data = datasets()
    facts = ours()
    exceptions = []
    for line in open(os.path.join(ROOT, "tests", "tax", "rates_exceptions.tsv"), encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            place, kind, start, end, verdict, reason = line.rstrip("\n").split("\t")
            exceptions.append([place, kind, datetime.date.fromisoformat(start), datetime.date.fromisoformat(end), verdict, reason, 0])
    places = EU + OTHERS + ["CA-" + p for p in PROVINCES]
    compared = agreed = 0
    uncovered = []
    disagreements = {}  # (place, kind, ours, theirs) → [first, last, days]
    day = FIRST
    while day <= LAST:
        for place in places:
            mine = facts(place, day)
            for k, kind in enumerate(("standard", "others")):
                if place.startswith("CA-") and kind == "others":
                    continue
                claims = {}
                for name, d in data.items():
                    entry = d.get(place)
                    if entry and entry[k] is not None:
                        v = entry[k].on(day)
                        if v is not None:
                            claims[name] = v
                if not claims:
                    uncovered.append((place, kind))
                    continue
                compared += 1
                if any(v == mine[k] for v in claims.values()):
                    agreed += 1
                    continue
                theirs = "; ".join("%s %s" % (n, fmt(v)) for n, v in sorted(claims.items()))
                key = (place, kind, fmt(mine[k]), theirs)
                span = disagreements.setdefault(key, [day, day, 0])
                span[1] = day
                span[2] += 1
                for e in exceptions:
                    if e[0] == place and e[1] == kind and e[2] <= day <= e[3]:
                        e[6] += 1
                        break
                else:
                    span.append("unreviewed")
        day += datetime.timedelta(days=1)
    failures = []
    print("datasets: duty27-eu-vat %s, eu-vat-rates-data %s (PyPI); vatrates %s, sales-tax %s (npm)"
          % (PYPI["duty27-eu-vat"][0], PYPI["eu-vat-rates-data"][0], NPM["vatrates"], NPM["sales-tax"]))
    print("compared %d facts (%d places x %d days x standard / other rates): %d agree with at least one dataset, %d disagree with all"
          % (compared, len(places), (LAST - FIRST).days + 1, agreed, compared - agreed))
    for (place, kind, mine, theirs), span in sorted(disagreements.items(), key=lambda kv: (kv[0][0], kv[1][0])):
        status = "UNREVIEWED" if "unreviewed" in span else "reviewed"
        line = "  %-6s %-8s %s..%s (%4d days) billcalc %s | %s [%s]" % (place, kind, span[0], span[1], span[2], mine, theirs, status)
        print(line)
        if status == "UNREVIEWED":
            failures.append(line)
    for e in exceptions:
        if e[6] == 0:
            failures.append("stale exception: %s" % "\t".join(str(x) for x in e[:5]))
    print("%d disagreement ranges, %d exceptions reviewed in tests/tax/rates_exceptions.tsv" % (len(disagreements), len(exceptions)))
    if uncovered:
        # No registry dataset has these (the non-European datasets only give standard rates):
        # they are checked by the vectors and unit tests alone.
        places_kinds = sorted(set(uncovered))
        print("not stated by any dataset (%d facts): %s" % (len(uncovered), ", ".join("%s %s" % pk for pk in places_kinds)))
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
