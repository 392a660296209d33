"""billcalc's VAT-number checks against python-stdnum (installed from PyPI here).

1. Every real number python-stdnum's own tests list as valid (tests/test_*_vat.doctest and
   friends in its source distribution) must be accepted, unless listed with its reason in
   tests/tax/vat_exceptions.txt.
2. Every single-position mutant of those numbers (each character replaced by every other
   character of its class) that python-stdnum rejects must be rejected too: no wrong check
   digit is accepted.
3. Every number python-stdnum's tests list as invalid must be rejected.

Usage: python3 tests/tax/vat_numbers.py   (prints the counts; exits 1 on any disagreement)
"""
import glob, os, re, subprocess, sys, tarfile, importlib

VERSION = "2.2"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, "target", "stdnum")


def ensure_stdnum():
    try:
        import stdnum
        if stdnum.__version__ == VERSION:
            return
    except ImportError:
        pass
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "python-stdnum==" + VERSION])
    importlib.invalidate_caches()


def sdist_tests():
    """The doctest files of python-stdnum's source distribution (downloaded once)."""
    tests = os.path.join(CACHE, "python_stdnum-" + VERSION, "tests")
    if not os.path.isdir(tests):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                               "-d", CACHE, "python-stdnum==" + VERSION])
        with tarfile.open(glob.glob(os.path.join(CACHE, "python_stdnum-%s.tar.gz" % VERSION))[0]) as t:
            t.extractall(CACHE, members=[m for m in t.getmembers() if "/tests/" in m.name])
    return tests


# doctest file → (Stripe type, prefix to add when the number lacks it, stdnum module)
FILES = {
    "test_eu_vat.doctest": ("eu_vat", None, "stdnum.eu.vat"),
    "test_be_vat.doctest": ("eu_vat", "BE", "stdnum.be.vat"),
    "test_bg_vat.doctest": ("eu_vat", "BG", "stdnum.bg.vat"),
    "test_fr_tva.doctest": ("eu_vat", "FR", "stdnum.fr.tva"),
    "test_ie_vat.doctest": ("eu_vat", "IE", "stdnum.ie.vat"),
    "test_es_nif.doctest": ("eu_vat", "ES", "stdnum.es.nif"),
    "test_gb_vat.doctest": ("gb_vat", None, "stdnum.gb.vat"),
    "test_ch_vat.doctest": ("ch_vat", None, "stdnum.ch.vat"),
    "test_no_mva.doctest": ("no_vat", None, "stdnum.no.mva"),
}
STDNUM_OF = {"eu_vat": "stdnum.eu.vat", "gb_vat": "stdnum.gb.vat", "ch_vat": "stdnum.ch.vat", "no_vat": "stdnum.no.mva"}


def blocks(path):
    """(numbers, valid?) for each `numbers = '''…'''` block followed by an is_valid filter."""
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r">>> numbers = '''\n(.*?)\n\.\.\. '''\n>>> \[x for x in numbers\.splitlines\(\) if x and (not )?(\w+)[.(]", text, re.S):
        body, negated, fn = m.group(1), m.group(2), m.group(3)
        numbers = [l[4:].strip() for l in body.splitlines() if l.startswith("... ") and l[4:].strip()]
        if fn == "caught":
            yield numbers, False
        else:
            yield numbers, bool(negated)


def with_prefix(kind, prefix, value, mod):
    if prefix is None:
        return value
    compact = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if kind == "eu_vat" and not compact.startswith(prefix):
        return prefix + value
    return value


def normalise(value):
    """What billcalc strips (src/tax/vat_id.rs `normalise`)."""
    return re.sub(r"[\s.\-,:/_()]", "", value).upper()


def classes(ch):
    if ch.isdigit():
        return "0123456789"
    if ch.isalpha():
        return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return ""


def main():
    ensure_stdnum()
    tests = sdist_tests()
    mods = {k: importlib.import_module(v) for k, v in STDNUM_OF.items()}
    exceptions = {}
    for line in open(os.path.join(ROOT, "tests", "tax", "vat_exceptions.txt"), encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            kind, number, reason = line.split("\t", 2)
            exceptions[(kind, number)] = reason
    valid, invalid = [], []
    for name, (kind, prefix, modname) in FILES.items():
        mod = importlib.import_module(modname)
        for numbers, is_valid_list in blocks(os.path.join(tests, name)):
            for n in numbers:
                typed = with_prefix(kind, prefix, n, mod)
                # A number only counts as valid if stdnum's own checker for the Stripe type agrees.
                if is_valid_list and mods[kind].is_valid(typed):
                    valid.append((kind, typed))
                # Invalid only through a separator python-stdnum does not strip for that
                # country (a comma in a Belgian number): billcalc strips the same set of
                # separators everywhere, so such a number is not counted as invalid.
                elif not is_valid_list and not mods[kind].is_valid(normalise(typed)):
                    invalid.append((kind, typed))
    valid = sorted(set(valid))
    invalid = sorted(set(invalid))
    mutants = set()
    for kind, typed in valid:
        compact = mods[kind].compact(typed)
        for i, ch in enumerate(compact):
            for other in classes(ch):
                if other != ch:
                    m = compact[:i] + other + compact[i + 1:]
                    if not mods[kind].is_valid(m):
                        mutants.add((kind, m))
    mutants = sorted(mutants)
    queries = valid + invalid + mutants
    build = subprocess.run(["cargo", "build", "-q", "--example", "vat_check"], cwd=ROOT)
    if build.returncode:
        sys.exit(build.returncode)
    exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "examples", "vat_check")
    out = subprocess.run([exe], input="".join("%s\t%s\n" % q for q in queries), capture_output=True, text=True, check=True).stdout.splitlines()
    verdict = dict(zip(queries, out))
    failures = []
    accepted = 0
    used = set()
    for q in valid:
        if verdict[q].startswith("ok"):
            accepted += 1
        elif q in exceptions:
            used.add(q)
        else:
            failures.append("valid number rejected: %s %r → %s" % (q[0], q[1], verdict[q]))
    mutants_rejected = sum(1 for q in mutants if verdict[q].startswith("err"))
    for q in mutants:
        if verdict[q].startswith("ok"):
            failures.append("wrong check digits accepted: %s %r" % q)
    invalid_rejected = sum(1 for q in invalid if verdict[q].startswith("err"))
    for q in invalid:
        if verdict[q].startswith("ok"):
            failures.append("invalid number accepted: %s %r" % q)
    for q in exceptions:
        if q not in used:
            failures.append("stale exception (now accepted or not listed): %s %r" % q)
    print("python-stdnum %s valid numbers accepted: %d / %d (%d rejected, each explained in tests/tax/vat_exceptions.txt)"
          % (VERSION, accepted, len(valid), len(used)))
    print("single-position mutants python-stdnum rejects, rejected here: %d / %d" % (mutants_rejected, len(mutants)))
    print("numbers python-stdnum lists as invalid, rejected here: %d / %d" % (invalid_rejected, len(invalid)))
    for f in failures[:60]:
        print("FAIL", f)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
