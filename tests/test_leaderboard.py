"""The leaderboard site: built from fixture run files, checked as data and in a real headless Chromium.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package; they skip,
saying which is missing, without them. One browser serves every test of the module.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.leaderboard_build import synthetic_header, synthetic_records, write_run
from tempeval import registry
from tempeval.groups import summarize_groups
from tempeval.leaderboard import build as lb
from tempeval.leaderboard.serve import make_server
from tempeval.results import read_run, summarize

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT_BREAK = "</script><script>alert(2)</script>"
RECORDS = 20


def _synth() -> list[str]:
    """The tasks of the synth group (from the registry, as the builder sees them)."""
    return sorted(registry.groups()["synth"])


def _run(root: Path, model: str, task: str, *, day: int, skill: float, version: str | None = None,
         name: str | None = None, **header: Any) -> Path:
    spec = registry.tasks()[task.split("@")[0]]
    fields = {"task_version": version or spec.version, **header}
    if "@" in task:
        fields["task"] = task
    records = synthetic_records(spec, RECORDS, skill, f"{model}:{task}:{day}")
    path = root / model.replace("/", "_").replace("<", "_").replace(">", "_") / f"{name or task}.jsonl"
    return write_run(path, synthetic_header(spec, model, f"2025-03-{day:02d}T10:00:00+00:00", fields), records)


def _diagnosis(folder: Path, model: str, roles: dict[str, str], **values: Any) -> None:
    (folder / "diagnosis-synth_order.json").write_text(json.dumps(
        {"type": "diagnosis", "task": "synth_order", "task_version": "1", "model": model, "n": RECORDS,
         "kappa": {"value": 40.0, "ci": [20.0, 60.0]}, "tau": {"value": 12.5, "ci": [2.0, 25.0]}, "rho": None,
         "reversal_drop": {"value": 5.0, "ci": [-5.0, 15.0]}, "flip_rate": {"value": 30.0, "ci": [20.0, 40.0]},
         "runs": roles, **values}), encoding="utf-8")


def write_fixture_runs(root: Path) -> None:
    """Models on the synth group, Vinoground and Charades-STA: a hostile model name and output, an older task
    version, a superseded run, a --limit run, diagnoses in the diagnose module's and the issue's shapes, and two
    files that cannot be used (not a run file; a score that is not a number)."""
    for model, skill in (("alpha", 0.8), ("beta", 0.5)):
        for task in _synth():
            _run(root, model, task, day=10, skill=skill)
        _run(root, model, "vinoground", day=10, skill=skill)
    _run(root, "beta", "synth_count", day=2, skill=0.0, name="synth_count-old")  # superseded by day 10
    _run(root, "beta", "synth_order", day=1, skill=1.0, version="0", name="synth_order-v0")  # older version
    _run(root, "gamma", "synth_order", day=11, skill=0.3, limit=RECORDS)  # one of eight synth tasks; --limit
    hostile = _run(root, HOSTILE, "vinoground", day=12, skill=0.9)
    lines = hostile.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record.update(question="<b>not bold</b> & more", output=SCRIPT_BREAK)
    long = dict(json.loads(lines[2]), output="y" * (lb.MAX_OUTPUT_CHARS + 5))  # shortened in the sample data
    hostile.write_text("\n".join([lines[0], json.dumps(record), json.dumps(long), *lines[3:]]) + "\n", encoding="utf-8")
    _run(root, HOSTILE, "charades_sta", day=12, skill=0.6)
    # alpha: what `tempeval diagnose` writes (derived tasks <task>@<variant>, accuracy per variant).
    variants: dict[str, dict[str, Any]] = {
        "original": {}, "single-middle": {"num_frames": 1},
        "shuffled": {"order": "shuffled"}, "reversed": {"order": "reversed"},
    }
    for variant, frames in variants.items():
        policy = {**registry.tasks()["synth_order"].frames.to_dict(), **frames}
        _run(root, "alpha", f"synth_order@{variant}", day=13, skill=0.7, frames=policy)
    _diagnosis(root / "alpha", "alpha", {v: f"synth_order@{v}.jsonl" for v in variants},
               accuracy={"original": 70.0, "single-middle": 50.0, "shuffled": 62.0, "reversed": 60.0})
    # beta: the shape the issue describes; its uniform run is the leaderboard run itself.
    _run(root, "beta", "synth_order", day=14, skill=0.3, name="synth_order-single", frames={"num_frames": 1})
    _diagnosis(root / "beta", "beta", {"uniform": "synth_order.jsonl", "single": "synth_order-single.jsonl"},
               kappa={"value": 5.0, "ci": [0.0, 10.0]}, tau={"value": 1.0, "ci": None})
    (root / "alpha" / "broken.jsonl").write_text("this is not a run file\n", encoding="utf-8")
    # The newest beta synth_speed run, but its records hold a score no tempeval wrote: skipped, and the
    # day-10 run counts again.
    weird = _run(root, "beta", "synth_speed", day=20, skill=0.5, name="weird")
    weird.write_text(weird.read_text(encoding="utf-8").replace('"score": 0.0', '"score": "zero"'), encoding="utf-8")
    (root / "models.yaml").write_text(
        "alpha: {name: Alpha-7B, size: 7B, link: 'https://example.org/alpha', date: 2025-01-01, open: true}\n"
        "beta: {name: '=HYPERLINK(\"http://evil.example\")', size: 13B, link: 'javascript:alert(3)', open: false}\n",
        encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leaderboard")
    write_fixture_runs(root / "runs")
    with pytest.warns(UserWarning, match="leaderboard: skipping"):
        index: Path = lb.build([root / "runs"], root / "site")
    return index.parent


@pytest.fixture(scope="module")
def data(site: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((site / "data.json").read_text(encoding="utf-8"))
    return loaded


def _runs_by(data: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [r for r in data["runs"] if all(r[k] == v for k, v in match.items())]


def _cell(data: dict[str, Any], model: str, bench: str) -> dict[str, Any]:
    return next(c for c in data["cells"] if c["model"] == model and c["benchmark"] == bench)


# ---------------------------------------------------------------------------------------------------------------
# The data


def test_cells_are_the_stored_scores_summarized(site: Path, data: dict[str, Any]) -> None:
    root = site.parent / "runs"
    for model in ("alpha", "beta", HOSTILE):
        [path] = [p for p in root.rglob("vinoground.jsonl") if read_run(p).header["model"] == model]
        summary = summarize(read_run(path))
        headline = summary.metrics[summary.headline]
        assert _cell(data, model, "vinoground")["value"] == pytest.approx(headline.value)
        assert _cell(data, model, "vinoground")["ci"] == pytest.approx(list(headline.ci or ()))
    runs = [read_run(root / "alpha" / f"{task}.jsonl") for task in _synth()]
    [group] = [g for g in summarize_groups(runs, [summarize(r) for r in runs]) if g.group == "synth"]
    assert _cell(data, "alpha", "synth")["value"] == pytest.approx(group.metrics["average"].value)
    assert data["averages"]["alpha"] is None  # alpha has no charades_sta run
    gamma = _cell(data, "gamma", "synth")
    assert gamma["value"] is None and len(gamma["missing"]) == len(_synth()) - 1


def test_only_the_newest_run_of_the_newest_version_counts(data: dict[str, Any]) -> None:
    [old_version] = _runs_by(data, model="beta", task="synth_order", task_version="0")
    [superseded] = _runs_by(data, model="beta", task="synth_count", status="superseded")
    assert old_version["status"] == "older_version"
    used = {run_id for cell in data["cells"] for run_id in cell["runs"]}
    assert old_version["id"] not in used and superseded["id"] not in used
    assert superseded["file"].endswith("beta/synth_count-old.jsonl")
    # Diagnostic variants never become columns, and never replace the real run.
    assert all("@" not in b["id"] for b in data["benchmarks"])
    assert {r["status"] for r in data["runs"] if "@" in r["task"] or r["file"].endswith("-single.jsonl")} == {"variant"}
    [beta_order] = _runs_by(data, model="beta", task="synth_order", status="current")
    assert beta_order["file"].endswith("beta/synth_order.jsonl") and beta_order["frames"] == "8 frames"
    assert beta_order["generation_label"].startswith("max ") and beta_order["truncated"] == 0
    assert [s["file"] for s in data["skipped"]] == ["runs/alpha/broken.jsonl", "runs/beta/weird.jsonl"]
    assert "cannot be summarised (ValueError" in data["skipped"][1]["reason"]
    assert _runs_by(data, model="beta", task="synth_speed")[0]["file"] == "runs/beta/synth_speed.jsonl"


def test_diagnoses_link_their_runs(data: dict[str, Any]) -> None:
    by_model = {d["model"]: d for d in data["diagnoses"]}
    alpha, beta = by_model["alpha"], by_model["beta"]
    original = next(r for r in data["runs"] if r["id"] == alpha["runs"]["original"])
    assert original["task"] == "synth_order@original" and alpha["uniform"] == "original"
    assert alpha["accuracy"]["value"] == original["metrics"]["accuracy"]["value"]
    assert alpha["kappa"] == {"value": 40.0, "ci": [20.0, 60.0]} and alpha["rho"] is None
    assert set(alpha["variant_accuracy"]) == {"original", "single-middle", "shuffled", "reversed"}
    assert beta["tau"] == {"value": 1.0, "ci": None}
    assert beta["runs"]["uniform"] == _runs_by(data, model="beta", task="synth_order", status="current")[0]["id"]


def test_models_file_and_csv_are_safe(site: Path, data: dict[str, Any]) -> None:
    models = {m["id"]: m for m in data["models"]}
    assert models["alpha"]["name"] == "Alpha-7B" and models["alpha"]["type"] == "open"
    assert models["beta"]["type"] == "closed" and models["gamma"]["name"] == "gamma"
    rows = list(csv.DictReader(io.StringIO((site / "overview.csv").read_text(encoding="utf-8"))))
    by_model = {row["model"]: row for row in rows}
    assert by_model["beta"]["name"].startswith("'=")  # a spreadsheet shows it as text, never runs it
    assert float(by_model["alpha"]["synth"]) == pytest.approx(_cell(data, "alpha", "synth")["value"], abs=1e-4)
    assert lb.csv_cell("-cmd") == "'-cmd" and lb.csv_cell(-2.5) == "-2.5" and lb.csv_cell("@x") == "'@x"


def test_scripts_embed_no_markup(site: Path, data: dict[str, Any]) -> None:
    text = (site / "data.js").read_text(encoding="utf-8")
    assert "<" not in text and ">" not in text.replace("=>", "")
    assert json.loads(text.removeprefix("window.TEMPEVAL_DATA = ").rstrip().removesuffix(";")) == data
    hostile = _runs_by(data, model=HOSTILE, task="vinoground")[0]
    sample_js = (site / "samples" / f"{hostile['id']}.js").read_text(encoding="utf-8")
    assert "</script>" not in sample_js and "\\u003c/script\\u003e" in sample_js
    assert f'"cut":{{"1":{lb.MAX_OUTPUT_CHARS + 5}}}' in sample_js and "y" * (lb.MAX_OUTPUT_CHARS + 1) not in sample_js
    assert lb.script_json(["a\u2028b", float("nan")]) == '["a\\u2028b",null]'
    assert len(list((site / "samples").glob("*.js"))) == len(data["runs"])


def test_parallel_build_matches_serial(site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lb, "PARALLEL_MIN_RUNS", 1)
    with pytest.warns(UserWarning):
        lb.build([site.parent / "runs"], tmp_path / "site")
    assert (tmp_path / "site" / "data.json").read_bytes() == (site / "data.json").read_bytes()
    assert sorted(p.name for p in (tmp_path / "site" / "samples").iterdir()) == sorted(
        p.name for p in (site / "samples").iterdir()
    )


def test_build_without_runs_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(lb.TempevalError, match="tempeval run"):
        lb.build([tmp_path], tmp_path / "site")
    with pytest.raises(lb.TempevalError, match="No such runs folder"):
        lb.build([tmp_path / "nowhere"], tmp_path / "site")


def test_runs_folders_of_one_name_stay_apart(tmp_path: Path) -> None:
    for lab in ("lab-a", "lab-b"):
        _run(tmp_path / lab / "runs", f"{lab}/model", "synth_order", day=1, skill=0.5, name="synth_order")
    index = lb.build([tmp_path / "lab-a" / "runs", tmp_path / "lab-b" / "runs"], tmp_path / "site")
    data = json.loads((index.parent / "data.json").read_text(encoding="utf-8"))
    assert sorted(r["file"] for r in data["runs"]) == [
        "lab-a/runs/lab-a_model/synth_order.jsonl", "lab-b/runs/lab-b_model/synth_order.jsonl"
    ]
    assert len({r["id"] for r in data["runs"]}) == 2 and data["sources"] == ["lab-a/runs", "lab-b/runs"]


# ---------------------------------------------------------------------------------------------------------------
# In the browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    for binary in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(binary).exists():
            pytest.skip(f"{binary} is missing: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}", "--window-size=1400,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser: Any, url: str, css: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))


def _no_console_errors(browser: Any) -> None:
    """No error in the browser's console, and no JavaScript non-value leaked into the page's text."""
    from selenium.webdriver.common.by import By

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    words = set(browser.find_element(By.TAG_NAME, "body").text.split())
    assert not words & {"null", "undefined", "NaN", "[object"}


def _no_alert(browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - raises when no alert() ran


def _rows(browser: Any) -> list[tuple[str, str]]:
    """(model, score text of the sorted column) per overview row, top to bottom (one round trip)."""
    rows = browser.execute_script("""
        const table = document.querySelector("table.overview");
        const keys = [...table.querySelectorAll("th")].map((th) => th.dataset.key);
        const index = keys.indexOf(table.querySelector("th.sorted").dataset.key);
        return [...table.querySelectorAll("tbody tr[data-model]")].map(
            (tr) => [tr.dataset.model, tr.children[index].innerText.split("\\n")[0]]);
    """)
    return [(model, text) for model, text in rows]


def test_overview_from_file_shows_the_numbers(browser: Any, site: Path, data: dict[str, Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, (site / "index.html").as_uri(), "table.overview button.cell")
    shown = {
        (model, bench): text
        for model, bench, text in browser.execute_script(
            "return [...document.querySelectorAll('button.cell')].map("
            "(b) => [b.dataset.model, b.dataset.bench, b.querySelector('.v').innerText]);"
        )
    }
    expected = {(c["model"], c["benchmark"]): "—" if c["value"] is None else f"{c['value']:.1f}" for c in data["cells"]}
    assert shown == expected
    ci = _cell(data, "alpha", "vinoground")["ci"]
    alpha = browser.find_element(By.CSS_SELECTOR, "tr[data-model='alpha']")
    assert f"{ci[0]:.1f}–{ci[1]:.1f}" in alpha.text and "Alpha-7B" in alpha.text
    assert not alpha.find_elements(By.CSS_SELECTOR, "a[href^='javascript']")
    assert browser.find_element(By.CSS_SELECTOR, "tr[data-model='beta'] td.model").text.startswith("=HYPERLINK")
    assert "Runs of older task versions" in browser.find_element(By.TAG_NAME, "body").text
    assert "partial" in browser.find_element(By.CSS_SELECTOR, "tr[data-model='gamma']").text  # a --limit run
    cell = alpha.find_element(By.CSS_SELECTOR, "button.cell[data-bench='synth']")
    [order] = _runs_by(data, model="alpha", task="synth_order")
    label = order["generation_label"]  # the decoding settings are part of what each run line says
    assert f"synth_order v2 · 8 frames · {label} · strict parser · n=20" in cell.get_attribute("title")
    assert "runs/alpha/synth_order.jsonl" in cell.get_attribute("title")
    cell.click()  # the expansion: every run behind the number, each with its samples
    detail = browser.find_element(By.ID, "detail")
    assert detail.is_displayed() and len(detail.find_elements(By.CSS_SELECTOR, "a.samples-link")) == len(_synth())
    browser.save_screenshot(str(tmp_path / "overview.png"))
    _no_alert(browser)
    _no_console_errors(browser)


def test_hostile_text_is_shown_literally(browser: Any, site: Path, data: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, (site / "index.html").as_uri(), "table.overview button.cell")
    assert HOSTILE in browser.find_element(By.CSS_SELECTOR, "table.overview").text
    assert not browser.find_elements(By.CSS_SELECTOR, "img")
    run = _runs_by(data, model=HOSTILE, task="vinoground")[0]
    _open(browser, (site / "index.html").as_uri() + f"#/run/{run['id']}", "table.samples tbody tr")
    outputs = browser.execute_script("return [...document.querySelectorAll('td.output pre')].map((p) => p.textContent)")
    assert SCRIPT_BREAK in outputs
    assert "<b>not bold</b> & more" in browser.find_element(By.CSS_SELECTOR, "table.samples").text
    body = browser.find_element(By.TAG_NAME, "body").text
    assert f"(cut; {lb.MAX_OUTPUT_CHARS + 5} characters in the run file)" in body
    assert not browser.find_elements(By.XPATH, "//b[contains(., 'not bold')]")
    _no_alert(browser)
    _no_console_errors(browser)


def test_sorting_and_filtering(browser: Any, site: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, (site / "index.html").as_uri(), "table.overview")
    header = "table.overview th[data-key='b:vinoground']"
    browser.find_element(By.CSS_SELECTOR, header).click()
    down = [float(v) for _, v in _rows(browser) if v not in ("", "—")]
    assert down == sorted(down, reverse=True) and len(down) == 3
    browser.find_element(By.CSS_SELECTOR, header).click()
    up = [float(v) for _, v in _rows(browser) if v not in ("", "—")]
    assert up == sorted(up) and up[0] < up[-1]

    search = browser.find_element(By.ID, "model-filter")
    search.send_keys("alph")
    assert [model for model, _ in _rows(browser)] == ["alpha"]
    search.clear()
    search.send_keys(" ")  # clear() fires no input event; a space (trimmed) does
    assert len(_rows(browser)) == 4

    browser.find_element(By.CSS_SELECTOR, ".chip[data-value='grounding']").click()  # kind filter
    keys = [th.get_attribute("data-key") for th in browser.find_elements(By.CSS_SELECTOR, "table.overview th")]
    assert "b:charades_sta" not in keys and "b:synth" in keys  # synth also has multiple-choice tasks
    browser.find_element(By.CSS_SELECTOR, ".chip[data-value='synth']").click()  # benchmark filter
    keys = [th.get_attribute("data-key") for th in browser.find_elements(By.CSS_SELECTOR, "table.overview th")]
    assert [k for k in keys if k.startswith("b:")] == ["b:vinoground"]
    # The average covers the benchmarks shown, for models that have all of them.
    browser.find_element(By.CSS_SELECTOR, "table.overview th[data-key='avg']").click()
    rows = dict(_rows(browser))
    assert rows["alpha"] == browser.find_element(
        By.CSS_SELECTOR, "tr[data-model='alpha'] button.cell[data-bench='vinoground'] .v").text
    assert "gamma" not in rows  # no score on any benchmark shown
    _no_console_errors(browser)


def test_sample_browser_filters_and_searches(browser: Any, site: Path, data: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    run = _runs_by(data, model="beta", task="synth_direction")[0]
    records = read_run(site.parent / "runs" / "beta" / "synth_direction.jsonl").records
    _open(browser, (site / "index.html").as_uri() + f"#/run/{run['id']}", "table.samples tbody tr")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.samples tbody tr")
    assert len(rows) == len(records) == RECORDS
    assert "0.5 1.5 2.5" in rows[0].find_element(By.CSS_SELECTOR, "td.times").text  # frame times seen
    unparseable = [r for r in records if r["error"] is None and not r["parsed"]]
    Select(browser.find_element(By.ID, "sample-filter")).select_by_value("unparseable")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.samples tbody tr")) == len(unparseable)
    Select(browser.find_element(By.ID, "sample-filter")).select_by_value("all")
    browser.find_element(By.ID, "sample-search").send_keys(records[3]["sample_id"])
    [row] = browser.find_elements(By.CSS_SELECTOR, "table.samples tbody tr")
    assert row.get_attribute("data-sample") == records[3]["sample_id"]
    _no_console_errors(browser)


def test_benchmark_and_diagnostics_views(browser: Any, site: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, (site / "index.html").as_uri() + "#/b/synth", "table.metrics")
    keys = {th.get_attribute("data-key") for th in browser.find_elements(By.CSS_SELECTOR, "table.metrics th")}
    assert {"m:average", "m:accuracy[mode=forward]", "m:R1@0.5", "m:mIoU", "m:pair_consistency"} <= keys
    _open(browser, (site / "index.html").as_uri() + "#/diagnostics", "figure.plot svg circle")
    plots = browser.find_elements(By.CSS_SELECTOR, "figure.plot")
    assert [len(p.find_elements(By.CSS_SELECTOR, "circle")) for p in plots] == [2, 2]
    assert "Alpha-7B" in plots[0].text
    browser.save_screenshot(str(tmp_path / "diagnostics.png"))
    _no_console_errors(browser)


def test_served_over_http(browser: Any, site: Path) -> None:
    server = make_server(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _open(browser, f"http://127.0.0.1:{server.server_address[1]}/", "table.overview button.cell")
        _no_console_errors(browser)
    finally:
        server.shutdown()
        server.server_close()


def test_serve_refuses_a_folder_that_is_not_a_site(tmp_path: Path) -> None:
    with pytest.raises(lb.TempevalError, match="leaderboard build"):
        make_server(tmp_path, port=0)


def test_generation_settings_in_words() -> None:
    assert lb.generation_label({"max_tokens": 64, "temperature": 0.0, "top_p": 1.0, "seed": 0}) == (
        "max 64 tokens, greedy"
    )
    reasoning = {"max_tokens": 4096, "temperature": 0.6, "top_p": 0.95, "seed": 0,
                 "extra": {"reasoning_effort": "low"}}
    assert lb.generation_label(reasoning) == "max 4096 tokens, T=0.6, top-p 0.95, reasoning_effort=low"
    assert lb.generation_label(None) == "unknown"


# ---------------------------------------------------------------------------------------------------------------
# Group CIs, chance levels, charts, the bold rule, prompts, frame strips and grounding timelines


def test_group_cells_carry_bootstrap_cis_into_the_csv(site: Path, data: dict[str, Any]) -> None:
    alpha = _cell(data, "alpha", "synth")  # a macro group: a bootstrap of the mean of its 7 task headlines
    assert alpha["ci"] is not None and alpha["ci"][0] < alpha["value"] < alpha["ci"][1] and alpha["ci_note"] == ""
    rows = {row["model"]: row for row in csv.DictReader(io.StringIO((site / "overview.csv").read_text("utf-8")))}
    assert float(rows["alpha"]["synth ci_low"]) == pytest.approx(alpha["ci"][0], abs=1e-4)
    assert float(rows["alpha"]["synth ci_high"]) == pytest.approx(alpha["ci"][1], abs=1e-4)
    [result] = [g for g in data["group_results"] if g["group"] == "synth" and g["model"] == "alpha"]
    assert result["metrics"]["average"]["ci"] == alpha["ci"] and result["ci_note"] == ""
    # A macro group of one task: the bootstrap of a mean of one is that task's own interval.
    [charades] = _runs_by(data, model=HOSTILE, task="charades_sta")
    assert _cell(data, HOSTILE, "charades_sta")["ci"] == charades["metrics"]["R1@0.5"]["ci"] is not None


def test_chance_levels_per_task_and_benchmark(data: dict[str, Any]) -> None:
    rule = "mean over samples of 1 / number of options"
    assert data["tasks"]["synth_order"]["chance"] == {"value": 25.0, "rule": rule}
    assert data["tasks"]["charades_sta"]["chance"]["value"] is None
    assert "grounding" in data["tasks"]["charades_sta"]["chance"]["rule"]
    benches = {b["id"]: b for b in data["benchmarks"]}
    assert benches["synth"]["chance"] == {"value": None, "rule": "none: a member task has no chance level"}
    assert data["model_frames"]["gamma"] == ["8 frames, native"]


def _real_runs(root: Path) -> None:
    """Runs the runner wrote (videos, frame indices, prompts): the random baseline on a multiple-choice and a
    grounding task; a copy whose videos are gone and one without prompts (an older tempeval); synthetic
    TempCompass and Charades-STA runs of a strong and a weak model."""
    from tempeval.adapter import create_adapter
    from tempeval.loaders import LoadOptions
    from tempeval.runner import RunOptions, run_task

    load = LoadOptions(synth_dir=root.parent / "synth", synth_per_task=4)  # a small suite of its own: seconds
    options = RunOptions(out_dir=root / "random", load=load, progress=False, limit=4)
    for task in ("synth_direction", "synth_grounding"):
        run_task(registry.get_task(task), create_adapter("random"), "random", options)
    [direction] = (root / "random").rglob("synth_direction.jsonl")
    lines = direction.read_text(encoding="utf-8").splitlines()
    header = dict(json.loads(lines[0]), model="moved")
    moved = [dict(json.loads(line), video="/nowhere/clip.mp4") for line in lines[1:]]
    write_run(root / "moved" / "synth_direction.jsonl", header, moved)
    old = [{k: v for k, v in json.loads(line).items() if k != "prompt"} for line in lines[1:]]
    write_run(root / "old" / "synth_direction.jsonl", dict(header, model="old", tempeval_version="0.0.9"), old)
    for model, skill in (("strong", 0.95), ("weak", 0.15)):
        for task in sorted(registry.groups()["tempcompass"]):
            _run(root, model, task, day=5, skill=skill)
        _run(root, model, "charades_sta", day=5, skill=0.5)


@pytest.fixture(scope="module")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real-leaderboard")
    _real_runs(root / "runs")
    index: Path = lb.build([root / "runs"], root / "site")
    return index.parent


def _data_of(site: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((site / "data.json").read_text(encoding="utf-8"))
    return loaded


def test_records_keep_their_prompt_and_strips_picture_the_frames_seen(real_site: Path) -> None:
    data = _data_of(real_site)
    [run] = _runs_by(data, model="random", task="synth_direction")
    [path] = (real_site.parent / "runs" / "random").rglob("synth_direction.jsonl")
    records = read_run(path).records
    assert all(r["prompt"].startswith(r["question"]) and len(r["prompt_sha"]) == 16 for r in records)
    text = (real_site / "samples" / f"{run['id']}.js").read_text(encoding="utf-8")
    payload = json.loads(text.split("] = ", 1)[1].rstrip().removesuffix(";"))
    strips = payload["strips"]
    assert len(strips) == len(records) and all(len(s["files"]) == len(r["frame_indices"]) == len(s["times"])
                                               for s, r in zip(strips.values(), records, strict=True))
    first = real_site / strips["0"]["files"][0]
    assert first.read_bytes()[:2] == b"\xff\xd8" and strips["0"]["times"] == records[0]["frame_times"]
    [moved] = _runs_by(data, model="moved")
    moved_js = (real_site / "samples" / f"{moved['id']}.js").read_text(encoding="utf-8")
    assert "frames not shown: video /nowhere/clip.mp4 is not on the machine that built this site" in moved_js
    tempcompass = next(b for b in data["benchmarks"] if b["id"] == "tempcompass")
    assert tempcompass["chance"]["value"] == pytest.approx((25 + 25 + 25 + 50) / 4)  # three lettered tasks, one yes/no


def test_no_thumbnails_when_asked(real_site: Path, tmp_path: Path) -> None:
    from tempeval.cli import main

    assert main(["leaderboard", "build", str(real_site.parent / "runs"), "-o", str(tmp_path / "site"),
                 "--no-thumbnails"]) == 0
    assert not (tmp_path / "site" / "thumbs").exists() and (real_site / "thumbs").is_dir()
    assert (tmp_path / "site" / "data.json").read_bytes() == (real_site / "data.json").read_bytes()
    [run] = _runs_by(_data_of(real_site), model="random", task="synth_direction")
    assert '"strips":{}' in (tmp_path / "site" / "samples" / f"{run['id']}.js").read_text(encoding="utf-8")


def test_overview_bold_rule_frames_and_chance_row(browser: Any, real_site: Path) -> None:
    from selenium.webdriver.common.by import By

    data = _data_of(real_site)
    _open(browser, (real_site / "index.html").as_uri(), "table.overview button.cell")
    strong, weak = _cell(data, "strong", "tempcompass"), _cell(data, "weak", "tempcompass")
    assert strong["ci"][0] > weak["ci"][1]  # apart: the best is bold
    best = browser.find_elements(By.CSS_SELECTOR, "table.overview td.best")
    assert [(td.find_element(By.CSS_SELECTOR, "button.cell").get_attribute("data-model"),
             td.find_element(By.CSS_SELECTOR, "button.cell").get_attribute("data-bench")) for td in best] == [
        ("strong", "tempcompass")
    ]
    charades = [c for c in data["cells"] if c["benchmark"] == "charades_sta"]
    top, runner_up = sorted(charades, key=lambda c: -c["value"])[:2]
    assert top["ci"][0] <= runner_up["ci"][1]  # overlapping: no bold in that column (checked above)
    assert "does not overlap the runner-up's" in browser.find_element(By.ID, "legend").text
    frames = browser.find_element(By.CSS_SELECTOR, "tr[data-model='strong'] td.frames").text
    assert frames == "; ".join(data["model_frames"]["strong"]) and "native" in frames
    chance = browser.find_element(By.CSS_SELECTOR, "tr.chance-row")
    cells = browser.execute_script(
        "const keys = [...document.querySelectorAll('table.overview thead th')].map((th) => th.dataset.key);"
        "return [...document.querySelectorAll('tr.chance-row td')].map((td, i) => [keys[i], td.innerText]);")
    shown = dict(cells)
    assert float(shown["b:tempcompass"]) == pytest.approx(31.25, abs=0.051) and shown["b:charades_sta"] == "—"
    assert chance.text.startswith("chance level")
    _no_console_errors(browser)


def test_benchmark_charts_have_a_bar_and_whisker_per_model(browser: Any, real_site: Path, site: Path) -> None:
    from selenium.webdriver.common.by import By

    data = _data_of(real_site)
    _open(browser, (real_site / "index.html").as_uri() + "#/b/tempcompass", "#score-chart svg")
    chart = browser.find_element(By.CSS_SELECTOR, "#score-chart")
    scored = [c for c in data["cells"] if c["benchmark"] == "tempcompass" and c["value"] is not None]
    assert len(chart.find_elements(By.CSS_SELECTOR, "rect.bar")) == len(scored) == 2
    assert len(chart.find_elements(By.CSS_SELECTOR, "g.whisker")) == 2
    values = [float(g.get_attribute("data-value")) for g in chart.find_elements(By.CSS_SELECTOR, "g.bar-item")]
    assert values == sorted((c["value"] for c in scored), reverse=True)
    line = chart.find_element(By.CSS_SELECTOR, "g.chance-line")
    assert float(line.get_attribute("data-value")) == pytest.approx(31.25) and "chance 31" in line.text
    breakdown = browser.find_element(By.CSS_SELECTOR, "#breakdown-aspect")  # accuracy[aspect=...] per model
    aspects = {n for g in data["group_results"] if g["group"] == "tempcompass" for n in g["metrics"] if "[aspect=" in n}
    assert len(breakdown.find_elements(By.CSS_SELECTOR, "rect.bar")) == 2 * len(aspects) and len(aspects) > 1
    assert "chance level" in browser.find_element(By.CSS_SELECTOR, "table.metrics tfoot").text
    # A macro group: its member tasks are the breakdown; no chance line where a member (grounding) has none.
    _open(browser, (site / "index.html").as_uri() + "#/b/synth", "#breakdown-task svg")
    members = [t.removeprefix("synth_") for t in _synth()]
    expected = sum(m in g["metrics"] for g in _data_of(site)["group_results"] if g["group"] == "synth" for m in members)
    assert expected == 2 * len(members) + 1  # alpha and beta: every task; gamma: synth_order only
    assert len(browser.find_element(By.ID, "breakdown-task").find_elements(By.CSS_SELECTOR, "g.bar-item")) == expected
    assert not browser.find_elements(By.CSS_SELECTOR, "#score-chart g.chance-line")
    _no_console_errors(browser)


def test_sample_browser_shows_prompt_frames_and_timeline(browser: Any, real_site: Path) -> None:
    from selenium.webdriver.common.by import By

    data = _data_of(real_site)
    [run] = _runs_by(data, model="random", task="synth_direction")
    [path] = (real_site.parent / "runs" / "random").rglob("synth_direction.jsonl")
    records = read_run(path).records
    _open(browser, (real_site / "index.html").as_uri() + f"#/run/{run['id']}", "table.samples .strip img")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-sample='{records[0]['sample_id']}']")
    row.find_element(By.CSS_SELECTOR, "details.prompt summary").click()
    assert row.find_element(By.CSS_SELECTOR, "details.prompt pre").text == records[0]["prompt"].strip()
    loaded = browser.execute_script(
        "const imgs = [...document.querySelectorAll('.strip img')];"
        "return Promise.all(imgs.map((i) => i.decode().then(() => i.naturalWidth, () => 0)));")
    assert len(loaded) == sum(len(r["frame_indices"]) for r in records) and min(loaded) > 0
    captions = [f.text for f in row.find_elements(By.CSS_SELECTOR, ".strip figcaption")]
    assert captions == [f"{t:.1f} s" for t in records[0]["frame_times"]]
    [moved] = _runs_by(data, model="moved")
    _open(browser, (real_site / "index.html").as_uri() + f"#/run/{moved['id']}", "table.samples .strip-note")
    assert "not on the machine that built this site" in browser.find_element(By.CSS_SELECTOR, ".strip-note").text
    [grounding] = _runs_by(data, model="random", task="synth_grounding")
    [path] = (real_site.parent / "runs" / "random").rglob("synth_grounding.jsonl")
    first = read_run(path).records[0]
    _open(browser, (real_site / "index.html").as_uri() + f"#/run/{grounding['id']}", ".timeline svg")
    timeline = browser.find_element(By.CSS_SELECTOR, f"tr[data-sample='{first['sample_id']}'] .timeline")
    assert len(timeline.find_elements(By.CSS_SELECTOR, "rect.tl-target")) == 1
    start, end = first["target"]
    assert f"target {start:.1f}–{end:.1f} s" in timeline.text
    if isinstance(first["answer"], list):
        assert len(timeline.find_elements(By.CSS_SELECTOR, "rect.tl-pred")) == 1 and "predicted" in timeline.text
    _no_console_errors(browser)
    # A run file from before records kept the prompt says so.
    [old] = _runs_by(data, model="old")
    _open(browser, (real_site / "index.html").as_uri() + f"#/run/{old['id']}", "table.samples tbody tr")
    missing = browser.find_element(By.CSS_SELECTOR, ".prompt-missing").text
    assert "prompt not stored (run made by tempeval 0.0.9" in missing
    _no_console_errors(browser)


# Streaming runs: the stream timeline in the sample browser and the streaming table on the overview


@pytest.fixture(scope="module")
def stream_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tempeval.adapter import create_adapter
    from tempeval.loaders import LoadOptions
    from tempeval.runner import RunOptions, run_task

    root = tmp_path_factory.mktemp("stream-leaderboard")
    load = LoadOptions(synth_dir=root / "synth", synth_per_task=6)  # two streams of a small suite of its own
    run_task(registry.get_task("synth_stream"), create_adapter("random"), "random",
             RunOptions(out_dir=root / "runs", load=load, progress=False))
    index: Path = lb.build([root / "runs"], root / "site")
    return index.parent


def _stream_run(site: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    [run] = _runs_by(_data_of(site), task="synth_stream")
    text = (site / "samples" / f"{run['id']}.js").read_text(encoding="utf-8")
    payload = json.loads(text.split("] = ", 1)[1].rstrip().rstrip(";"))
    return run, [dict(zip(payload["fields"], row, strict=True)) for row in payload["rows"]]


def test_a_streaming_record_carries_its_timeline_and_the_run_its_settings(stream_site: Path) -> None:
    run, samples = _stream_run(stream_site)
    assert run["kind"] == "streaming"
    assert run["stream"] == "1 fps, polled every 1 s on the whole stream, virtual time"
    [path] = (stream_site.parent / "runs").rglob("synth_stream.jsonl")
    records = read_run(path).records
    for sample, record in zip(samples, records, strict=True):
        view = sample["stream_view"]
        log = record["stream"]["log"]
        assert len(view["frames"]) == len(log["frames"]) and view["dropped"] == []
        assert len(view["responses"]) == sum(e["action"]["kind"] == "respond" for e in log["entries"])
        assert [w[:3] for w in view["windows"]] == [[w["query_id"], w["start_s"], w["end_s"]]
                                                   for w in record["answer"]["windows"]]
        assert [q[0] for q in view["queries"]] == [q["query_id"] for q in record["target"]]
    assert lb.stream_view({"sample_id": "x", "output": "A"}) is None, "other records have none"


def test_the_stream_timeline_and_the_streaming_table_are_drawn(browser: Any, stream_site: Path) -> None:
    from selenium.webdriver.common.by import By

    run, samples = _stream_run(stream_site)
    _open(browser, (stream_site / "index.html").as_uri() + f"#/run/{run['id']}", ".stream-timeline svg")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-sample='{samples[0]['sample_id']}']")
    timeline = row.find_element(By.CSS_SELECTOR, ".stream-timeline")
    view = samples[0]["stream_view"]
    assert len(timeline.find_elements(By.CSS_SELECTOR, "rect.st-window")) == len(view["windows"])
    assert len(timeline.find_elements(By.CSS_SELECTOR, "line.st-query")) == len(view["queries"])
    assert len(timeline.find_elements(By.CSS_SELECTOR, "rect.st-frame")) == len(view["frames"])
    assert len(timeline.find_elements(By.CSS_SELECTOR, "circle.st-response")) == len(view["responses"])
    assert f"{len(view['frames'])} frames delivered" in timeline.text
    _no_console_errors(browser)
    _open(browser, (stream_site / "index.html").as_uri(), "section.streaming table")
    table = browser.find_element(By.CSS_SELECTOR, "section.streaming table")
    headers = [th.text.split("\n")[0].rstrip("▲▼ ") for th in table.find_elements(By.CSS_SELECTOR, "th")]
    assert headers[:5] == ["Model", "Task", "Timing score", "Recall", "Precision"] and "Mean delay" in headers
    [tr] = table.find_elements(By.CSS_SELECTOR, f"tbody tr[data-run='{run['id']}']")
    assert f"{run['metrics']['timing_score']['value']:.1f}" in tr.text
    _no_console_errors(browser)
