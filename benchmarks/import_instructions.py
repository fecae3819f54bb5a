"""Import cost in CPU instructions per story: a figure that does not move with
the machine's load (valgrind's callgrind counts instructions, not seconds).

On our shared machines the same import's CPU time varies by a third from run
to run, so a change worth a few percent cannot be told from noise with
import_bench.py. This runs `manage.py import_articles` under callgrind twice,
on SMALL and on LARGE new files (generated as import_bench.py generates them,
into copies of one prepared SQLite database), and prints the difference per
extra file: the instructions one more story costs the storing process and the
process that reads ahead, without start-up. With --by-library, where the
storing process's instructions go (Python, SQLite, libc, JSON).

    .venv/bin/python benchmarks/import_instructions.py [--by-library]

Needs valgrind (Debian's package); takes about four minutes (both runs at
once, one per core). Compare two commits by running it in a worktree of each.
The figures hold for this machine's Python and SQLite builds: compare runs of
one machine, not across machines.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Above import_articles' MIN_FILES, so that both runs read ahead in a second
# process, as a real import of many files does.
SMALL, LARGE = 400, 1000


def prepare(folder):
    """A migrated SQLite database with the benchmark's vocabulary, and LARGE
    files (the first SMALL of them also in a folder of their own)."""
    env = {**os.environ, "NEWSROOM_VAR_DIR": str(folder / "var")}
    (folder / "var").mkdir()
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / "benchmarks")!r})
import django
django.setup()
from django.core.management import call_command
from articles.models import Person, Topic
import import_bench
call_command("migrate", verbosity=0)
call_command("load_vocabulary", {str(ROOT / "fixtures" / "people.json")!r},
             {str(ROOT / "fixtures" / "topics.json")!r}, verbosity=0)
people, topics = import_bench.vocabulary()
Person.objects.bulk_create(Person(name=name, slug=f"person-{{n}}", aliases=alias)
                           for n, (name, alias) in enumerate(people))
Topic.objects.bulk_create(Topic(name=name, slug=f"topic-{{n}}", keywords=keywords)
                          for n, (name, keywords) in enumerate(topics))
import_bench.write_batch(__import__("pathlib").Path({str(folder / "large")!r}),
                         "first", {LARGE}, people)
"""
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=ROOT)
    (folder / "small").mkdir()
    for path in sorted((folder / "large").iterdir())[:SMALL]:
        shutil.copy(path, folder / "small" / path.name)


def counted(folder, files):
    """{pid: callgrind output file} of importing `files` (a folder) into a copy
    of the prepared database; the lowest pid is the storing process."""
    run = folder / f"run-{files.name}"
    (run / "var").mkdir(parents=True)
    shutil.copy(folder / "var" / "db.sqlite3", run / "var" / "db.sqlite3")
    env = {**os.environ, "NEWSROOM_VAR_DIR": str(run / "var")}
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={run}/callgrind.%p",
            sys.executable,
            "manage.py",
            "import_articles",
            "--verbosity=0",
            str(files),
        ],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    outputs = {int(path.suffix[1:]): path for path in run.glob("callgrind.*")}
    return [outputs[pid] for pid in sorted(outputs)]


def total(path):
    match = re.search(r"^totals: (\d+)", path.read_text(errors="replace"), re.M)
    return int(match.group(1))


def by_library(path):
    """Instructions of each shared library (Python, SQLite, ...)."""
    listing = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    libraries = Counter()
    for line in listing.splitlines():
        match = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(\S.*?)(?: \[(.*)\])?\s*$", line)
        if match is None or "PROGRAM TOTALS" in line:
            continue
        count, _, library = match.groups()
        if library is None:
            # callgrind_annotate leaves out the library of some lines (code
            # inlined from headers), most of them Python's.
            library = "(lines it names no library for)"
        libraries[library.rsplit("/", 1)[-1]] += int(count.replace(",", ""))
    return libraries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by-library", action="store_true")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("import_instructions: valgrind is not installed")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-not-a-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
    os.environ.pop("DATABASE_URL", None)  # SQLite: the storing process does it all.
    with tempfile.TemporaryDirectory(prefix="import-instructions-") as temp:
        folder = Path(temp)
        prepare(folder)
        with ThreadPoolExecutor(max_workers=2) as pool:
            small, large = pool.map(
                lambda name: counted(folder, folder / name), ["small", "large"]
            )
        extra = LARGE - SMALL
        print(
            f"Instructions per story ({LARGE} files less {SMALL}, "
            "start-up left out; SQLite):"
        )
        names = ["storing process", "process reading ahead"]
        for name, before, after in zip(names, small, large, strict=False):
            print(f"  {name:<24} {(total(after) - total(before)) / extra / 1e6:6.2f} M")
        if args.by_library:
            before, after = by_library(small[0]), by_library(large[0])
            print("Storing process, by library (per story):")
            for library in sorted(after, key=lambda lib: before[lib] - after[lib]):
                cost = (after[library] - before[library]) / extra
                if cost >= 1000:
                    print(f"  {library:<44} {cost / 1e6:6.3f} M")


if __name__ == "__main__":
    main()
