"""report_page.py (report.html): what the page says, that it needs nothing outside itself, that the
drawing process and ``skopt-report --html`` write it, and (in a real headless Chromium) that it
loads without errors, shows its pictures, sorts and filters.

The browser tests drive Debian's ``chromium`` through its ``chromedriver`` with Selenium, the
driver's path given so that Selenium never looks for one to download. Under ``make test``
(SKOPT_REQUIRE_BROWSER=1, Chromium installed by tests/engines/chromium_up.sh) a missing browser
fails them; elsewhere they skip with the reason.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from hydra_skopt_sweeper.insight import plot_refresher, report_page, sweep_report
from hydra_skopt_sweeper.insight.importance import Importance, ParamImportance
from hydra_skopt_sweeper.insight.pictures import draw_plots, picture_names
from hydra_skopt_sweeper.insight.report_page import REFRESH_S, render_page, write_page
from hydra_skopt_sweeper.insight.sweep_record import load_sweep
from hydra_skopt_sweeper.records.sweep_dir import REPORT
from tests.waiting import wait_until

APP = Path(__file__).resolve().parent / "apps" / "sphere" / "app.py"

# a categorical option with every character HTML, attributes and scripts treat specially
NASTY = "<b>&amp;\"q'</b></script><script>alert(1)</script>"
SPACE = {
    "lr": {"kind": "real", "override_key": "lr", "low": 1e-4, "high": 1e-1, "log": True},
    "layers": {"kind": "int", "override_key": "layers", "low": 1, "high": 6, "log": False},
    "note": {"kind": "categorical", "override_key": "note", "choices": ["plain", NASTY],
             "labels": ["plain", NASTY]},
}


def trial(number, value, status="ok", lr=0.01, layers=2, note="plain", **extra):
    return {"number": number, "params": {"lr": lr, "layers": layers, "note": note}, "value": value,
            "status": status, "error": "RuntimeError: diverged <boom>" if status == "failed" else None,
            "duration_s": 1.0 + number, "job_dir": None, "batch": number // 2 + 1, **extra}


def make_sweep(sweep_dir, records, maximize=False, n_calls=None, sweeper=None):
    """A sweep dir as the loop writes it: search_space.json, trials.jsonl, and multirun.yaml
    when ``sweeper`` (its hydra.sweeper) is given; every job dir under the sweep dir."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    described = {"params": SPACE, "maximize": maximize, **({"n_calls": n_calls} if n_calls else {})}
    (sweep_dir / "search_space.json").write_text(json.dumps(described))
    for record in records:
        record["job_dir"] = str(sweep_dir / str(record["number"]))
    (sweep_dir / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if sweeper is not None:
        (sweep_dir / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"sweeper": sweeper}}))
    return sweep_dir


def mixed_trials():
    """Ten trials: #6 is the best, #3 was pruned at a better value than any, #4 and #8 failed,
    #7 holds the nasty option."""
    values = [0.9, 0.7, 0.8, 0.1, None, 0.6, 0.25, 0.5, None, 0.4]
    records = [trial(n, v, lr=0.001 * (n + 1), layers=1 + n % 6) for n, v in enumerate(values)]
    records[3].update(status="pruned", step=2)
    for n in (4, 8):
        records[n].update(status="failed", error="RuntimeError: diverged <boom>")
    records[7]["params"]["note"] = NASTY
    return records


@pytest.fixture
def sweep(tmp_path):
    return make_sweep(tmp_path / "sweep", mixed_trials(), n_calls=10)


class Page(HTMLParser):
    """What the tests read of a page: its tags' attributes, the trial rows, the text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.text, self.scripts, self._code = [], [], [], 0, None
        self.codes = []  # the copyable override lines
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "tr" and "data-n" in attributes:
            self.rows.append(attributes)
        self.scripts += tag == "script"
        self._code = tag if tag in ("script", "style", "code") else None

    def handle_endtag(self, tag):
        self._code = None

    def handle_data(self, data):
        if self._code == "code":
            self.codes.append(data)
        if self._code in (None, "code"):  # the text shown, not the page's own style and script
            self.text.append(data)

    @property
    def words(self):
        return " ".join(" ".join(self.text).split())

    def attribute(self, tag, name):
        return [a[name] for t, a in self.tags if t == tag and name in a]

    def refresh(self):
        return [a.get("content") for t, a in self.tags if t == "meta" and a.get("http-equiv") == "refresh"]


def page_of(sweep_dir, importance=None, live=False):
    return Page(render_page(load_sweep(sweep_dir), importance=importance, live=live))


# -- what the page says ------------------------------------------------------------------------------


def test_every_string_from_the_sweep_is_escaped(sweep):
    text = render_page(load_sweep(sweep), importance=None, live=False)
    page = Page(text)
    assert NASTY not in text and "alert(1)</script>" not in text
    assert page.scripts == 1  # the page's own script, no other
    assert NASTY in page.words  # shown as written
    assert "RuntimeError: diverged <boom>" in page.words


def test_every_trial_has_a_row_pruned_and_failed_included_and_the_best_marked(sweep):
    page = page_of(sweep)
    assert [int(r["data-n"]) for r in page.rows] == list(range(10))
    status = {int(r["data-n"]): r["data-status"] for r in page.rows}
    assert status[3] == "pruned" and status[4] == status[8] == "failed"
    assert sum(s == "ok" for s in status.values()) == 7
    marked = [int(r["data-n"]) for r in page.rows if "best" in r["class"].split()]
    assert marked == [6]
    assert "st-pruned" in page.rows[3]["class"] and "st-failed" in page.rows[4]["class"]


def test_the_best_trial_and_its_overrides(sweep):
    page = page_of(sweep)
    assert "Trial #6: objective = 0.25" in page.words
    assert page.codes == ["lr=0.007 layers=1 note=plain"]
    assert "10 trial(s) of n_calls=10, 7 completed, 2 failed, 1 pruned" in page.words


def test_the_recommended_trial_is_shown_with_its_overrides(sweep):
    (sweep / "optimization_results.yaml").write_text(yaml.safe_dump(
        {"recommended_trial": 9, "recommended_value": 0.3, "best_value": 0.25}))
    page = page_of(sweep)
    assert "Recommended: trial #9, predicted value 0.3 (observed 0.4)" in page.words
    assert page.codes == ["lr=0.007 layers=1 note=plain", "lr=0.01 layers=4 note=plain"]


def test_metric_constraints_mark_the_infeasible_and_pick_the_best_feasible(tmp_path):
    records = mixed_trials()
    for r in records:
        r["metrics"] = {"size": 10.0}
    records[6]["metrics"] = {"size": 1000.0}  # the lowest value breaks the constraint
    sweep = make_sweep(tmp_path, records, n_calls=10, sweeper={"metric_constraints": ["size <= 100"]})
    page = page_of(sweep)
    status = {int(r["data-n"]): r["data-status"] for r in page.rows}
    assert status[6] == "infeasible"
    assert "Best feasible trial" in page.words and "Trial #9: objective = 0.4" in page.words
    assert "1 infeasible" in page.words and "size" in page.words.split()


def test_the_importance_table_when_there_is_one(sweep):
    importance = [Importance("objective (minimised)", (
        ParamImportance("layers", first=0.5, total=0.62, first_sd=0.04, total_sd=0.05),
        ParamImportance(NASTY, first=0.1, total=0.2, first_sd=0.01, total_sd=0.02)), n_trials=7)]
    page = page_of(sweep, importance=importance)
    assert "Importance" in page.words and "(model fitted on 7 trials)" in page.words
    assert "layers 0.620 ± 0.050 0.500 ± 0.040" in page.words
    assert f"{NASTY} 0.200 ± 0.020 0.100 ± 0.010" in page.words
    assert "Importance" not in page_of(sweep, importance=[]).words


def test_a_live_page_reloads_itself_and_says_so(sweep):
    page = page_of(sweep, live=True)
    assert page.refresh() == [str(REFRESH_S)]
    assert f"live: the sweep is running; this page reloads every {REFRESH_S} s" in page.words


def test_a_finished_page_does_not_reload_and_a_stopped_one_says_so(sweep, tmp_path):
    page = page_of(sweep, live=False)
    assert page.refresh() == [] and "finished" in page.words and "reloads" not in page.words
    killed = make_sweep(tmp_path / "killed", mixed_trials()[:6], n_calls=10)
    page = page_of(killed, live=False)
    assert page.refresh() == [] and "stopped after 6 of n_calls=10 trials" in page.words
    # the same trials from a space with no allowed point left: finished, not to be resumed
    (killed / "optimization_results.yaml").write_text("exhausted: true\n")
    page = page_of(killed, live=False)
    assert "finished: the search space is exhausted" in page.words and "stopped after" not in page.words


@pytest.mark.slow
def test_nothing_on_the_page_points_outside_it(sweep):
    draw_plots(load_sweep(sweep))
    text = render_page(load_sweep(sweep), importance=None, live=True)
    page = Page(text)
    assert not re.search(r"https?:", text, re.IGNORECASE)
    assert page.attribute("img", "src") and all(s.startswith("data:image/png;base64,") for s in page.attribute("img", "src"))
    assert all(s.startswith("data:") for t, a in page.tags for k, s in a.items() if k == "src")
    assert page.attribute("link", "href") == ["data:,"]
    assert all(h.startswith("file:///") for h in page.attribute("a", "href"))
    assert (sweep / "7").as_uri() in page.attribute("a", "href")
    assert "<style>" in text and "<script>" in text and not page.attribute("script", "src")


@pytest.mark.slow
def test_every_picture_drawn_is_embedded_in_picture_order(sweep):
    draw_plots(load_sweep(sweep))
    page = page_of(sweep)
    drawn = [name for name in picture_names(False) if (sweep / name).is_file()]
    assert len(drawn) >= 2
    assert page.attribute("img", "alt") == drawn
    for name, src in zip(drawn, page.attribute("img", "src")):
        assert base64.b64decode(src.split(",", 1)[1]) == (sweep / name).read_bytes()


def test_several_objectives_show_the_front_and_a_column_per_objective(tmp_path):
    points = [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (4.0, 5.0), None]  # (loss, acc): #2 is dominated by #1
    records = [dict(trial(n, None, lr=0.001 * (n + 1)), values=None if p is None else list(p))
               for n, p in enumerate(points)]
    records[4].update(status="failed")
    sweep = make_sweep(tmp_path, records, maximize=[False, True], sweeper={"monitor": ["loss", "acc"]})
    page = page_of(sweep)
    assert "loss (min), acc (max)" in page.words
    assert "3 of 4 completed trial(s) on the front" in page.words
    assert page.codes == [f"lr={0.001 * (n + 1)!r} layers=2 note=plain" for n in (0, 1, 3)]
    marked = sorted(int(r["data-n"]) for r in page.rows if "best" in r["class"].split())
    assert marked == [0, 1, 3]
    heads = [a.get("data-first") for t, a in page.tags if t == "th" and "data-first" in a]
    assert heads.count("desc") == 1  # acc's first click puts the largest first
    text = render_page(load_sweep(sweep), importance=None, live=False)
    assert len(re.findall(r'<td class="num" data-sort="0">yes</td>', text)) == 3  # the "front" column


# -- who writes it ------------------------------------------------------------------------------------


def _follow_once(monkeypatch, sweep_dir):
    """Run the drawing process's main in this process: one request, then its input closes."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"\n")
    os.close(write_end)
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_end, "rb"))
    monkeypatch.setattr(os, "nice", lambda increment: 0)  # this test process keeps its priority
    return plot_refresher.main([str(sweep_dir), "--follow"])


@pytest.mark.slow
def test_the_drawing_process_writes_a_live_page_then_the_last_one(sweep, monkeypatch):
    written, real = [], plot_refresher.write_page
    monkeypatch.setattr(plot_refresher, "write_page",
                        lambda record, **kw: written.append(kw["live"]) or real(record, **kw))
    assert _follow_once(monkeypatch, sweep) == 0
    assert written == [True, False]
    page = Page((sweep / REPORT).read_text())
    assert page.refresh() == [] and "finished" in page.words
    assert "convergence.png" in page.attribute("img", "alt")


@pytest.mark.slow
def test_one_drawing_fits_the_model_once_for_the_pictures_the_importance_and_the_page(sweep, monkeypatch):
    from hydra_skopt_sweeper.insight.pictures import draw
    from hydra_skopt_sweeper.insight import surface

    fits = []

    def counted(*args, **kwargs):
        fits.append(args)
        return real(*args, **kwargs)

    real = surface.fit_surface
    monkeypatch.setattr(surface, "fit_surface", counted)
    monkeypatch.setattr(draw, "fit_surface", counted)
    drawings = plot_refresher.Drawings(sweep)
    drawings.draw()
    page = Page((sweep / REPORT).read_text())
    assert len(fits) == 1 and (sweep / "importance.png").is_file() and "Importance" in page.words
    drawings.finish()  # the same trials: the page reuses what the drawing measured
    assert len(fits) == 1


@pytest.mark.slow
def test_a_page_or_importance_that_fails_stops_no_drawing(sweep, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(plot_refresher, "with_model", broken)
    assert _follow_once(monkeypatch, sweep) == 0  # the page is written without importance
    assert (sweep / REPORT).is_file() and "broken on purpose" in capsys.readouterr().err
    for name in ("convergence.png", REPORT):
        (sweep / name).unlink()
    monkeypatch.setattr(plot_refresher, "write_page", broken)
    assert _follow_once(monkeypatch, sweep) == 1  # reported as a failure ...
    assert (sweep / "convergence.png").is_file() and not (sweep / REPORT).exists()  # ... after the drawing


def test_the_end_of_a_sweep_names_the_page_with_the_pictures_once_they_exist(sweep):
    assert plot_refresher.pictures(sweep, False) == []  # none written yet
    write_page(load_sweep(sweep), importance=None, live=False)
    assert plot_refresher.pictures(sweep, False) == [sweep / REPORT]


@pytest.mark.slow
def test_a_real_sweep_leaves_its_finished_page(tmp_path):
    sweep_dir = tmp_path / "sweep"
    done = subprocess.run(
        [sys.executable, str(APP), "-m", "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={sweep_dir}",
         "x=interval(-2, 2)", "opt=choice(adam, sgd)", "hydra.sweeper.n_calls=4",
         "hydra.sweeper.n_initial_points=2", "hydra.sweeper.batch_size=2"],
        capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(rf"Plots: .*({re.escape(str(sweep_dir / REPORT))}|\(still being drawn)", out), out
    wait_until(lambda: (sweep_dir / REPORT).is_file() and "finished" in Page((sweep_dir / REPORT).read_text()).words)
    page = Page((sweep_dir / REPORT).read_text())
    assert page.refresh() == [] and len(page.rows) == 4
    assert "convergence.png" in page.attribute("img", "alt")


@pytest.mark.slow
def test_skopt_report_html_draws_and_writes_the_page(sweep, capsys):
    assert sweep_report.main([str(sweep), "--html"]) == 0
    out = capsys.readouterr().out
    page_path = sweep / REPORT
    assert f"Wrote {page_path} ({page_path.resolve().as_uri()})" in out
    page = Page(page_path.read_text())
    assert "convergence.png" in page.attribute("img", "alt") and "finished" in page.words


def test_skopt_report_html_of_a_killed_sweep_without_plots(tmp_path, capsys):
    sweep = make_sweep(tmp_path, mixed_trials()[:7], n_calls=20)
    with open(sweep / "trials.jsonl", "a") as journal:
        journal.write('{"number": 7, "params": {"lr"')  # torn by the kill
    assert sweep_report.main([str(sweep), "--html", "--no-plots", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert list(sweep.glob("*.png")) == []
    page = Page((sweep / REPORT).read_text())
    assert page.attribute("img", "src") == [] and "None drawn yet" in page.words
    assert "stopped after 7 of n_calls=20 trials" in page.words and len(page.rows) == 7


# -- in a real browser ------------------------------------------------------------------------------------


def _fail_or_skip(reason):
    if os.environ.get("SKOPT_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, driven through Debian's chromedriver."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _fail_or_skip("selenium is not installed: pip install -e '.[dev]'")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        _fail_or_skip("Chromium or chromedriver is missing: apt-get install chromium chromium-driver "
                      "(make test installs them, as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:  # the driver's path given: Selenium never looks for one to download
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    except Exception as error:
        _fail_or_skip(f"Chromium did not start: {error}")
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Two pages with their pictures: the mixed sweep minimised (live) and maximised (finished)."""
    made = {}
    for maximize in (False, True):
        records = mixed_trials()
        if maximize:  # the same order of merit, the values mirrored
            for r in records:
                r["value"] = None if r["value"] is None else 1.0 - r["value"]
        sweep = make_sweep(tmp_path_factory.mktemp("max" if maximize else "min"), records, maximize=maximize,
                           n_calls=10)
        record = load_sweep(sweep)
        draw_plots(record)
        made[maximize] = write_page(record, importance=None, live=not maximize)
    return made


def _open(browser, page):
    """The page as first opened: without the sorting and filter an earlier test left it with."""
    browser.get(page.as_uri())
    browser.execute_script("sessionStorage.clear();")
    browser.get(page.as_uri())
    return browser


def _rows(browser):
    """The shown rows' trial numbers, in their order."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#trials tbody tr'))"
        ".filter(function (r) { return !r.hidden; }).map(function (r) { return Number(r.dataset.n); });")


def _header(browser, starts):
    from selenium.webdriver.common.by import By

    return next(th for th in browser.find_elements(By.CSS_SELECTOR, "#trials thead th") if th.text.startswith(starts))


@pytest.mark.slow
@pytest.mark.parametrize("maximize", [False, True])
def test_the_page_loads_without_errors_and_every_picture_shows(browser, pages, maximize):
    from selenium.webdriver.common.by import By

    _open(browser, pages[maximize])
    browser.find_element(By.CSS_SELECTOR, "button.copy").click()
    images = browser.execute_script(
        "return Array.from(document.images).map(function (i) { return [i.alt, i.complete, i.naturalWidth]; });")
    drawn = [name for name in picture_names(False) if (pages[maximize].parent / name).is_file()]
    assert [alt for alt, _, _ in images] == drawn and len(drawn) >= 2
    assert all(complete and width > 0 for _, complete, width in images), images
    assert browser.find_element(By.ID, "shown").text == "10 of 10 trial(s) shown"  # its script ran
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


@pytest.mark.slow
@pytest.mark.parametrize("maximize", [False, True])
def test_the_values_first_click_puts_the_best_first_and_the_second_reverses(browser, pages, maximize):
    _open(browser, pages[maximize])
    assert _rows(browser) == list(range(10))
    _header(browser, "objective").click()
    # completed best first, then the pruned #3 (better than any when stopped), failures last
    assert _rows(browser) == [6, 9, 7, 5, 1, 2, 0, 3, 4, 8]
    _header(browser, "objective").click()
    assert _rows(browser) == [0, 2, 1, 5, 7, 9, 6, 3, 4, 8]
    _header(browser, "lr").click()
    assert _rows(browser) == list(range(10))  # numerically: 0.01 after 0.009
    _header(browser, "#").click()
    _header(browser, "#").click()
    assert _rows(browser) == list(range(9, -1, -1))


@pytest.mark.slow
def test_the_filter_box_and_the_status_selector_hide_the_other_rows(browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, pages[False])
    box = browser.find_element(By.ID, "filter")
    box.send_keys("diverged")
    assert _rows(browser) == [4, 8]
    box.clear()
    box.send_keys("alert(1) 0.008")  # every word, in any cell
    assert _rows(browser) == [7]
    box.clear()
    box.send_keys(" ")
    assert _rows(browser) == list(range(10))
    Select(browser.find_element(By.ID, "status")).select_by_value("pruned")
    assert _rows(browser) == [3]
    assert browser.find_element(By.ID, "shown").text == "1 of 10 trial(s) shown"


@pytest.mark.slow
def test_a_reload_keeps_the_sorting_and_the_filter(browser, pages):
    from selenium.webdriver.common.by import By

    _open(browser, pages[True])
    _header(browser, "objective").click()
    browser.find_element(By.ID, "filter").send_keys("plain")
    before = _rows(browser)
    assert 7 not in before and before[0] == 6
    browser.refresh()  # what a live page's meta refresh does every REFRESH_S seconds
    assert browser.find_element(By.ID, "filter").get_attribute("value") == "plain"
    assert _rows(browser) == before


@pytest.mark.slow
def test_a_live_page_reloads_itself_keeping_the_sorting_the_filter_and_the_scroll(browser, pages, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    monkeypatch.setattr(report_page, "REFRESH_S", 1)
    folder = pages[False].parent / "fast"
    folder.mkdir()
    for picture in pages[False].parent.glob("*.png"):
        shutil.copy(picture, folder)
    fast = write_page(load_sweep(pages[False].parent), importance=None, live=True, out_dir=folder)
    _open(browser, fast)
    _header(browser, "objective").click()
    browser.find_element(By.ID, "filter").send_keys("ok")
    browser.execute_script("window.scrollTo(0, 900); window.notReloaded = true;")
    assert browser.execute_script("return window.scrollY;") == 900
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return window.notReloaded === undefined;"))
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState;") == "complete")
    assert browser.find_element(By.ID, "filter").get_attribute("value") == "ok"
    assert _rows(browser) == [6, 9, 7, 5, 1, 2, 0]
    assert browser.execute_script("return window.scrollY;") == 900
    browser.get("about:blank")  # it would go on reloading
