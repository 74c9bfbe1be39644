#!/usr/bin/python3
"""web_browser_driver.py - drives Debian's chromium (through chromedriver and Debian's
python3-selenium) through the quarantine review served by `moat web`.

Run by tests/integration/web_browser_test.cc, which sets up the quarantine, smtp-sink and
`moat web`. Steps: a control showing this browser does run an onerror payload when markup is
rendered; a wrong password; login; the list; a filter; the virus message's page (findings, MIME
and archive tree); release and its arrival at the sink; the hostile message (subject, names,
headers, body and trace full of HTML/JS show as text, nothing runs, nothing remote loads); the
dashboard's SVG chart; a reviewer who cannot release VIRUS mail. Screenshots go to --artifacts.
Exits 0 when every assertion held; prints what failed otherwise.
"""
import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

HOSTILE_SUBJECT = ('<script>window.__moatPwned=1</script>'
                   '<img src=x onerror="window.__moatPwned=2"> Prize')
HOSTILE_FILE = '<img src=x onerror=window.__moatPwned=3>.html'


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message, flush=True)


def start_browser(artifacts):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="moat-chromium-")
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--user-data-dir=" + profile]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", log_path=os.path.join(artifacts, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver, profile


def wait_for(driver, condition, what, timeout=20):
    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        fail("timed out waiting for " + what + " (at " + driver.current_url + ")")


def loaded(driver, page):
    wait_for(driver, lambda d: d.execute_script("return document.body.dataset.loaded") == page,
             "the " + page + " page to load")


def screenshot(driver, artifacts, name, height=None):
    if height:
        driver.set_window_size(1400, height)
    path = os.path.join(artifacts, name)
    driver.save_screenshot(path)
    driver.set_window_size(1400, 1000)
    print("screenshot: " + path, flush=True)


def assert_nothing_ran(driver, where):
    pwned = driver.execute_script("return window.__moatPwned")
    check(pwned is None, where + ": no script from the message ran (window.__moatPwned unset)")
    foreign = driver.execute_script("""
        const bad = [...document.querySelectorAll('img, iframe, object, embed, frame, svg, video,'
                                                + ' audio, link[rel=import], base, meta[http-equiv]')]
                      .filter((n) => !n.closest('#chart-day, #chart-week'));
        const scripts = [...document.scripts].filter((s) => !s.src.includes('/static/'));
        return bad.map((n) => n.outerHTML).concat(scripts.map((s) => s.outerHTML));""")
    check(foreign == [], where + ": no element was made from message markup " + json.dumps(foreign))
    remote = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
        ".filter((n) => !n.startsWith(location.origin))")
    check(remote == [], where + ": nothing was loaded from elsewhere " + json.dumps(remote))


def log_in(driver, url, user, password):
    driver.get(url + "login")
    wait_for(driver, EC.presence_of_element_located((By.ID, "login-form")), "the login form")
    driver.find_element(By.ID, "user").clear()
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").clear()
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()


def sink_has(sink_dir, needle):
    for path in glob.glob(os.path.join(sink_dir, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if needle.encode() in f.read():
                    return True
    return False


def main():
    parser = argparse.ArgumentParser()
    for name in ["url", "admin", "admin-password", "reviewer", "reviewer-password", "virus-id",
                 "hostile-id", "sink-dir", "artifacts"]:
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    url = args.url if args.url.endswith("/") else args.url + "/"
    os.makedirs(args.artifacts, exist_ok=True)
    driver, profile = start_browser(args.artifacts)
    try:
        run(driver, url, args)
    finally:
        try:
            with open(os.path.join(args.artifacts, "browser-console.json"), "w") as f:
                json.dump(driver.get_log("browser"), f, indent=1)
        except Exception as error:  # logs are a post-mortem aid only
            print("no browser log: %s" % error)
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print("all browser checks passed", flush=True)


def run(driver, url, args):
    # Control: this browser runs an onerror payload when markup is rendered without our CSP,
    # so the "nothing ran" checks below can see execution if it happened.
    driver.get("data:text/html,<img src=x onerror='window.__control=1'>")
    wait_for(driver, lambda d: d.execute_script("return window.__control") == 1,
             "the control payload to run")
    print("ok: control: markup rendered as HTML does run its onerror handler", flush=True)

    # Not logged in: the list sends us to the login page; a wrong password is refused.
    driver.get(url)
    wait_for(driver, EC.url_contains("/login"), "the redirect to /login")
    log_in(driver, url, args.admin, "not the password")
    wait_for(driver, EC.text_to_be_present_in_element((By.ID, "login-error"),
                                                      "wrong user name or password"),
             "the wrong-password message")
    check(driver.current_url.endswith("/login"), "a wrong password stays on the login page")

    log_in(driver, url, args.admin, args.admin_password)
    loaded(driver, "list")
    summary = driver.find_element(By.ID, "summary").text
    check(summary.startswith("14 messages"), "the list shows all 14 held messages: " + summary)
    cell = driver.find_element(By.CSS_SELECTOR, "tr[data-id='%s'] td.subject-cell" % args.hostile_id)
    check(cell.text == HOSTILE_SUBJECT, "the hostile subject shows as text in the list")
    assert_nothing_ran(driver, "list")
    screenshot(driver, args.artifacts, "list-all.png", 1400)

    # Filter: VIRUS mail whose subject contains "invoice".
    driver.find_element(By.CSS_SELECTOR, "input[name=class][value=VIRUS]").click()
    driver.find_element(By.ID, "f-subject").send_keys("invoice")
    driver.find_element(By.ID, "search").click()
    wait_for(driver, EC.url_contains("class=VIRUS"), "the filtered URL")
    loaded(driver, "list")
    rows = driver.find_elements(By.CSS_SELECTOR, "#rows tr")
    check(len(rows) == 1 and rows[0].get_attribute("data-id") == args.virus_id,
          "the filter leaves exactly the virus message")
    check(driver.find_element(By.CSS_SELECTOR, "input[name=class][value=VIRUS]").is_selected(),
          "the filter form keeps its values")
    screenshot(driver, args.artifacts, "list.png")

    # The virus message's page.
    rows[0].find_element(By.CSS_SELECTOR, "a.open").click()
    loaded(driver, "message")
    check(driver.find_element(By.ID, "subject").text == "Your invoice 4711", "the message page opened")
    findings = driver.find_element(By.ID, "findings").text
    check("Eicar-Test-Signature" in findings and "clamav" in findings,
          "the findings show the virus name and its stage")
    check("exe-in-zip" in findings and "2/invoice.zip/eicar.com" in findings,
          "the findings show the banned rule and the part it hit")
    parts = driver.find_element(By.ID, "parts").text
    check("invoice.zip" in parts and "eicar.com" in parts and "application/zip" in parts,
          "the MIME and archive tree shows names and detected types")
    check("Please find the invoice attached." in driver.find_element(By.ID, "body").text,
          "the body shows as text")
    check("Return-Path" in driver.find_element(By.ID, "headers").text, "the headers show")
    screenshot(driver, args.artifacts, "message.png", 2600)

    # Release it and see it arrive at the sink.
    driver.find_element(By.ID, "release").click()
    wait_for(driver, EC.visibility_of_element_located((By.ID, "confirm-dialog")),
             "the confirmation dialog")
    check("alice@corp.example" in driver.find_element(By.ID, "confirm-text").text,
          "the confirmation names the recipients")
    driver.find_element(By.ID, "confirm-ok").click()
    wait_for(driver, EC.text_to_be_present_in_element((By.ID, "status"),
                                                      "Released to alice@corp.example"),
             "the release to be reported")
    wait_for(driver, EC.text_to_be_present_in_element((By.ID, "history"), "release by web:alice"),
             "the release in the history")
    deadline = time.time() + 20
    while not sink_has(args.sink_dir, "X-Quarantine-Released: id " + args.virus_id):
        if time.time() > deadline:
            fail("the released message never reached the sink")
        time.sleep(0.1)
    print("ok: the released message arrived at the sink", flush=True)
    screenshot(driver, args.artifacts, "message-released.png")

    # The hostile message: everything shows as text, nothing runs, nothing loads.
    driver.get(url + "message?id=" + args.hostile_id)
    loaded(driver, "message")
    check(driver.find_element(By.ID, "subject").text == HOSTILE_SUBJECT,
          "the hostile subject shows as text on its page")
    check(HOSTILE_FILE in driver.find_element(By.ID, "parts").text,
          "the hostile attachment name shows as text")
    headers = driver.find_element(By.ID, "headers").text
    check("<svg onload=window.__moatPwned=7>" in headers, "hostile header values show as text")
    body = driver.find_element(By.ID, "body").text
    check("Plain part <script>window.__moatPwned=8</script>" in body,
          "the plain part's markup shows as text")
    check("Bold offer inside HTML" in body, "the HTML part shows as rendered text")
    check("<img src=x onerror=window.__moatPwned=11>" in driver.find_element(By.ID, "findings").text,
          "hostile finding names show as text")
    driver.find_element(By.CSS_SELECTOR, "button.show-source").click()
    source = driver.find_element(By.CSS_SELECTOR, "pre.source")
    check(source.is_displayed() and "<script>window.__moatPwned=4</script>" in source.text,
          "the HTML source shows as text on demand")
    assert_nothing_ran(driver, "hostile message")
    screenshot(driver, args.artifacts, "hostile.png", 2600)

    # The dashboard's chart is an SVG drawn by our script.
    driver.get(url + "dashboard")
    loaded(driver, "dashboard")
    bars = driver.find_elements(By.CSS_SELECTOR, "#chart-week svg rect.bar")
    check(len(bars) > 0, "the weekly chart draws bars (%d)" % len(bars))
    check(driver.find_element(By.CSS_SELECTOR, "dd[data-queue=deferred]").text == "1",
          "the dashboard shows queue sizes")
    screenshot(driver, args.artifacts, "dashboard.png", 1300)

    # A reviewer may not release VIRUS mail: the page says so and the button is off.
    driver.find_element(By.ID, "logout").click()
    wait_for(driver, EC.url_contains("/login"), "the logout")
    log_in(driver, url, args.reviewer, args.reviewer_password)
    loaded(driver, "list")
    driver.get(url + "message?id=" + args.virus_id)
    loaded(driver, "message")
    check(not driver.find_element(By.ID, "release").is_enabled(),
          "a reviewer's release button is disabled for VIRUS mail")
    check("Reviewers cannot release VIRUS mail" in driver.find_element(By.ID, "action-note").text,
          "the page tells the reviewer why")

    csp = [e for e in driver.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    check(csp == [], "no Content-Security-Policy violation was reported " + json.dumps(csp))


if __name__ == "__main__":
    main()
