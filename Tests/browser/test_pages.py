"""The web pages in a real browser: headless Chromium (Debian's) driven by Selenium,
against `stipple serve` started here on a temporary log and a free loopback port.

Run by Tools/browser-test/run (which installs what it needs); STIPPLE_BIN names the
built `stipple`, STIPPLE_SCREENSHOTS the folder for the screenshots of the main pages.
The tests run in the order of their names: each builds on what the ones before recorded.
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("STIPPLE_BIN", "stipple")
SHOTS = os.environ.get("STIPPLE_SCREENSHOTS", os.path.join(HERE, "..", "..", ".build", "browser-screenshots"))
PASSWORDS = {"admin": "the admin's long office phrase", "dr-lee": "lee's chair-side phrase", "dr-bram": "brampton chair phrase", "desk-1": "reception desk phrase"}


class Chain:
    """A temporary log with users and facts, and the servers on it."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="stipple-browser-")
        self.env = dict(os.environ, STIPPLE_DB=os.path.join(self.folder, "chain.sqlite"),
                        STIPPLE_MASTER_KEY_FILE=os.path.join(self.folder, "chain.key"))
        self.servers = []
        token_file = os.path.join(self.folder, "admin.token")
        self.run("init", "--token-file", token_file)
        with open(token_file) as f:
            self.tokens = {"admin": f.read().strip()}
        for user, role, clinic in [("dr-lee", "clinician", "toronto"), ("dr-bram", "clinician", "brampton"), ("desk-1", "reception", "toronto")]:
            out = self.run("user", "add", user, "--role", role, "--clinic", clinic)
            self.tokens[user] = out.strip().splitlines()[-1]
            self.run("user", "set-password", user, stdin=PASSWORDS[user] + "\n")
        self.run("user", "set-password", "admin", stdin=PASSWORDS["admin"] + "\n")
        self.admin_secret = self.run("user", "second-factor", "admin").splitlines()[1].strip()
        self.do("chain.jsonl")
        self.do("care-team.jsonl", user="dr-lee")
        self.do("confidential.jsonl")

    def run(self, *args, stdin=None, user="admin", check=True):
        env = dict(self.env)
        if hasattr(self, "tokens"):
            env["STIPPLE_TOKEN"] = self.tokens[user]
        done = subprocess.run([BIN, *args], input=stdin, env=env, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"stipple {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def do(self, fixture, user="admin"):
        with open(os.path.join(HERE, fixture)) as f:
            return self.run("do", stdin=f.read(), user=user)

    def serve(self, *extra):
        out = open(os.path.join(self.folder, f"server{len(self.servers)}.out"), "w+")
        process = subprocess.Popen([BIN, "serve", "--port", "0", "--log-level", "warning", *extra], env=self.env,
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
        self.servers.append(process)
        for _ in range(200):
            out.seek(0)
            match = re.search(r"127\.0\.0\.1:(\d+)", out.read())
            if match:
                return f"http://127.0.0.1:{match.group(1)}"
            if process.poll() is not None:
                break
            time.sleep(0.1)
        out.seek(0)
        raise AssertionError("the server did not start: " + out.read())

    def access_count(self, client):
        report = json.loads(self.run("report", "access", client, "--json"))
        return sum(len(section["rows"]) for section in report["sections"])

    def close(self):
        for index, process in enumerate(self.servers):
            if process.poll() is not None:
                # A server that stopped by itself: what it said, for the failure.
                with open(os.path.join(self.folder, f"server{index}.out")) as out:
                    text = out.read()
                    crash = max(text.find("Fatal error"), text.find("Crash"), 0)
                    print(f"server {index} stopped with {process.returncode}:\n" + text[crash:crash + 6000])
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def totp(secret, step):
    """RFC 6238's code (SHA-1, 6 digits) of a base32 secret at a 30-second step."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


used_steps = set()


def next_code(secret):
    """A code the server takes once: this step's, else the next one's (it takes one step either way)."""
    now = int(time.time()) // 30
    for step in (now, now + 1):
        if step not in used_steps:
            used_steps.add(step)
            return totp(secret, step)
    time.sleep(30 - time.time() % 30 + 0.5)
    return next_code(secret)


def browser(width=1280, height=1000):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--no-first-run", "--disable-extensions", "--lang=en-CA"]:
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(0)
    return driver


chain = None
base = None


def setUpModule():
    global chain, base
    os.makedirs(SHOTS, exist_ok=True)
    chain = Chain()
    base = chain.serve()


def tearDownModule():
    if chain:
        chain.close()


class Pages(unittest.TestCase):
    driver = None

    @classmethod
    def setUpClass(cls):
        cls.driver = browser()

    @classmethod
    def tearDownClass(cls):
        if cls.driver:
            cls.driver.quit()

    # Helpers ---------------------------------------------------------------------------

    def wait(self, condition, seconds=15):
        try:
            return WebDriverWait(self.driver, seconds).until(condition)
        except TimeoutException:
            # What the page said instead (its errors), for the failure's message.
            shown = " | ".join(e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".error, .ok")) or self.driver.title
            raise AssertionError(f"waited {seconds} s at {self.driver.current_url}; the page shows: {shown}") from None

    def sign_in(self, user, password=None, driver=None, next_path=None):
        driver = driver or self.driver
        driver.delete_all_cookies()
        driver.get(base + "/sign-in" + (f"?next={next_path}" if next_path else ""))
        driver.find_element(By.ID, "name").send_keys(user)
        driver.find_element(By.ID, "password").send_keys(password or PASSWORDS[user])
        if user == "admin":
            driver.find_element(By.ID, "code").send_keys(next_code(chain.admin_secret))
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()

    def search(self, query, driver=None):
        driver = driver or self.driver
        driver.get(base + "/")
        box = driver.find_element(By.ID, "q")
        box.clear()
        box.send_keys(query)
        driver.find_element(By.CSS_SELECTOR, "#search-form button").click()
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "results")))
        return [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#results tbody tr")]

    def shot(self, name):
        """The whole page (the window grown to its height for the picture), then back."""
        size = self.driver.get_window_size()
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(size["width"], max(size["height"], min(height + 140, 4000)))
        self.driver.save_screenshot(os.path.join(SHOTS, name + ".png"))
        self.driver.set_window_size(size["width"], size["height"])

    def cookie(self):
        value = self.driver.get_cookie("stipple_session")
        return value["value"] if value else None

    def request(self, path, data=None, cookie=None):
        """A request outside the browser (another site, a copied cookie): status, headers, body."""
        headers = {"Accept": "text/html"}
        if cookie:
            headers["Cookie"] = "stipple_session=" + cookie
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(base + path, data=body, headers=headers, method="POST" if body is not None else "GET")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def fill_session(self, number, day, pigment):
        driver = self.driver
        number_box = driver.find_element(By.ID, "number")
        number_box.clear()
        number_box.send_keys(number)
        driver.find_element(By.ID, "technician").send_keys("17")
        # datetime-local inputs take the digits as typed in the browser's locale order.
        driver.execute_script("document.getElementById('start').value = arguments[0]; document.getElementById('end').value = arguments[1];",
                              f"{day}T10:00", f"{day}T13:00")
        for area in ["hairline", "crown"]:
            driver.find_element(By.CSS_SELECTOR, f"input[name=area][value='{area}']").click()
        Select(driver.find_element(By.ID, "pigment")).select_by_value(pigment + "~perma-blend")  # a lot's id: number and maker
        Select(driver.find_element(By.ID, "cartridge")).select_by_value("NC-0412~kwadron:3RL:0.25")
        driver.find_element(By.ID, "depth").send_keys("0.9")

    def open_action(self, action):
        """Opens the action's fold on the client's page (they are closed until needed)."""
        box = self.driver.find_element(By.ID, f"{action}-form-box")
        if box.get_attribute("open") is None:
            box.find_element(By.TAG_NAME, "summary").click()
        return box

    def set_value(self, element_id, value):
        """Sets a date or time input (their typing follows the browser's locale)."""
        self.driver.execute_script("document.getElementById(arguments[0]).value = arguments[1];", element_id, value)

    # Tests, in order ---------------------------------------------------------------------

    def test_01_a_wrong_password_is_refused_and_the_right_one_signs_in(self):
        self.sign_in("dr-lee", "not the password at all")
        error = self.wait(EC.presence_of_element_located((By.ID, "sign-in-error")))
        self.assertEqual(error.text, "refused: the user name or the password is wrong")
        self.assertIsNone(self.cookie())
        self.shot("sign-in")
        self.sign_in("dr-lee")
        self.wait(EC.presence_of_element_located((By.ID, "search-form")))
        self.assertIn("dr-lee", self.driver.find_element(By.CSS_SELECTOR, ".who").text)

    def test_02_a_client_is_found_by_part_of_the_name(self):
        rows = self.search("leew")
        self.assertEqual(len(rows), 1)
        self.assertIn("Jordan Leeway", rows[0])
        self.assertNotIn("Morgan Leeds", " ".join(self.search("lee")), "Brampton's client is not dr-lee's to book")
        self.search("jordan")
        self.shot("find-a-client")

    def test_03_opening_the_page_is_a_logged_access(self):
        before = chain.access_count("42")
        self.search("jordan")
        self.driver.find_element(By.LINK_TEXT, "Jordan Leeway").click()
        title = self.wait(EC.presence_of_element_located((By.ID, "client-title")))
        self.assertIn("Jordan Leeway", title.text)
        self.assertEqual(self.driver.current_url, base + "/clients/42", "no personal data in the URL")
        self.assertNotIn("Jordan", self.driver.title, "no personal data in the page title")
        self.assertEqual(chain.access_count("42"), before + 2, "the search result and the page, each logged")

    def test_04_a_session_recorded_shows_in_the_timeline(self):
        self.driver.get(base + "/clients/42")
        self.fill_session("1", "2026-06-15", "PB-1187")
        self.driver.find_element(By.CSS_SELECTOR, "#session-form button[type=submit]").click()
        recorded = self.wait(EC.presence_of_element_located((By.ID, "recorded")))
        self.assertEqual(recorded.text, "Session 1 recorded.")
        timeline = self.driver.find_element(By.ID, "timeline").text
        self.assertIn("session 1 at toronto by 17", timeline)
        self.assertIn("PB-1187", timeline)
        self.assertEqual(self.driver.find_element(By.ID, "sessions-done").text, "1 of 3 estimated")
        shaded = self.driver.find_element(By.CSS_SELECTOR, "g[data-area=hairline]").get_attribute("data-count")
        self.assertEqual(shaded, "1", "the scalp map counts the session's areas")
        self.shot("client-page")

    def test_05_a_lot_recalled_while_the_form_was_open_is_refused_next_to_its_field_and_the_form_is_kept(self):
        self.driver.get(base + "/clients/42")
        self.fill_session("2", "2026-06-29", "PB-1190")
        chain.do("recall.jsonl")
        self.driver.find_element(By.CSS_SELECTOR, "#session-form button[type=submit]").click()
        self.wait(EC.presence_of_element_located((By.ID, "form-refused")))
        errors = self.driver.find_elements(By.CSS_SELECTOR, ".field-error[data-for=pigment]")
        self.assertEqual(len(errors), 1, self.driver.find_element(By.CSS_SELECTOR, "main").text)
        self.assertIn("recalled", errors[0].text)
        self.assertEqual(self.driver.find_element(By.ID, "number").get_attribute("value"), "2")
        self.assertEqual(self.driver.find_element(By.ID, "depth").get_attribute("value"), "0.9")
        self.assertEqual(self.driver.find_element(By.ID, "start").get_attribute("value"), "2026-06-29T10:00")
        self.assertEqual(Select(self.driver.find_element(By.ID, "pigment")).first_selected_option.get_attribute("value"), "PB-1190~perma-blend")
        self.assertTrue(self.driver.find_element(By.CSS_SELECTOR, "input[name=area][value=crown]").is_selected())
        self.assertNotIn("session 2 at", self.driver.find_element(By.ID, "timeline").text, "nothing was recorded")
        self.driver.execute_script("document.getElementById('session-form').scrollIntoView()")
        self.shot("session-refused")

    def test_06_a_clinician_of_another_clinic_cannot_find_or_open_the_client(self):
        other = browser()
        try:
            self.sign_in("dr-bram", driver=other)
            WebDriverWait(other, 15).until(EC.presence_of_element_located((By.ID, "search-form")))
            self.assertEqual(self.search("leeway", driver=other), [])
            other.get(base + "/clients/42")
            unknown_text = other.find_element(By.CSS_SELECTOR, "main").text
            other.get(base + "/clients/4242")
            self.assertEqual(other.find_element(By.CSS_SELECTOR, "main").text.replace("4242", "42"), unknown_text,
                             "the same words as for a client that does not exist")
        finally:
            other.quit()

    def test_07_a_confidential_client_asks_for_a_purpose(self):
        rows = self.search("avery")
        self.assertEqual(len(rows), 1)
        self.assertNotIn("Avery", rows[0], "shown by pseudonym until a purpose is given")
        self.assertIn("confidential", rows[0])
        self.driver.get(base + "/clients/44")
        self.wait(EC.presence_of_element_located((By.ID, "purpose-form")))
        self.assertNotIn("Avery", self.driver.page_source)
        self.driver.find_element(By.ID, "purpose").send_keys("session 1 planning")
        self.driver.find_element(By.CSS_SELECTOR, "#purpose-form button").click()
        title = self.wait(EC.presence_of_element_located((By.ID, "client-title")))
        self.assertIn("Avery Famous", title.text)
        self.assertEqual(self.driver.current_url, base + "/clients/44", "the purpose is posted, not put in the URL")
        access = chain.run("report", "access", "44")
        self.assertIn("session 1 planning", access)

    def test_08_a_name_with_markup_is_shown_as_text(self):
        rows = self.search("scripted")
        self.assertEqual(len(rows), 1)
        self.assertIn("<script>alert(1)</script> Scripted", rows[0])
        self.driver.get(base + "/clients/45")
        self.assertIn("<script>alert(1)</script>", self.driver.find_element(By.ID, "client-title").text)
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text

    def test_09_a_form_posted_without_its_token_is_refused(self):
        cookie = self.cookie()
        status, _, body = self.request("/clients/search", {"q": "jordan"}, cookie=cookie)
        self.assertEqual(status, 403)
        self.assertIn("not sent by Stipple", body)
        self.assertNotIn("Jordan", body)
        status, _, _ = self.request("/clients/search", {"q": "jordan", "_csrf": "forged"}, cookie=cookie)
        self.assertEqual(status, 403)

    def test_10_an_erased_client_disappears_from_search(self):
        self.assertEqual(len(self.search("erasable")), 1)
        chain.run("client", "erase", "46", "--reason", "request R-7 under PHIPA")
        self.assertEqual(self.search("erasable"), [])
        self.assertTrue(self.driver.find_elements(By.ID, "no-results"))

    def test_11_every_page_forbids_framing_and_inline_script(self):
        for path in ["/sign-in", "/"]:
            _, headers, _ = self.request(path, cookie=self.cookie())
            self.assertIn("frame-ancestors 'none'", headers["Content-Security-Policy"])
            self.assertNotIn("unsafe-inline", headers["Content-Security-Policy"])
            self.assertEqual(headers["X-Frame-Options"], "DENY")

    def test_12_after_sign_in_only_the_pages_own_paths_are_gone_back_to(self):
        for next_path in ["https://evil.example/", "//evil.example/", "/clients/42?x=1"]:
            self.sign_in("dr-lee", next_path=urllib.parse.quote(next_path, safe=""))
            self.wait(EC.presence_of_element_located((By.ID, "search-form")))
            self.assertEqual(self.driver.current_url, base + "/")
        self.sign_in("dr-lee", next_path="/clients/42")
        self.wait(EC.presence_of_element_located((By.ID, "client-title")))
        self.assertEqual(self.driver.current_url, base + "/clients/42")

    def test_13_a_cookie_copied_before_sign_out_is_refused_after(self):
        self.driver.get(base + "/")
        copied = self.cookie()
        self.assertEqual(self.request("/", cookie=copied)[0], 200)
        self.driver.find_element(By.CSS_SELECTOR, ".sign-out button").click()
        self.wait(EC.presence_of_element_located((By.ID, "sign-in-form")))
        status, headers, _ = self.request("/", cookie=copied)
        self.assertEqual(status, 303)
        self.assertTrue(headers["Location"].startswith("/sign-in"))

    def test_14_password_guessing_is_throttled(self):
        for attempt in range(5):
            self.sign_in("desk-1", f"guess number {attempt}")
            self.wait(EC.presence_of_element_located((By.ID, "sign-in-error")))
        self.sign_in("desk-1")
        error = self.wait(EC.presence_of_element_located((By.ID, "sign-in-error")))
        self.assertIn("too many failed sign-ins", error.text)
        self.assertIsNone(self.cookie())

    def test_15_a_lot_received_on_the_page_is_on_hand_and_a_wrong_expiry_records_nothing(self):
        self.sign_in("dr-lee")
        self.wait(EC.presence_of_element_located((By.ID, "search-form")))
        self.driver.get(base + "/lots")
        table = self.driver.find_element(By.ID, "lots-table").text
        self.assertIn("PB-1187", table)
        self.assertRegex(table, r"PB-1190 .*recalled 2026-06-20")
        driver = self.driver
        driver.find_element(By.ID, "receive-form-lot").send_keys("PB-2001")
        driver.find_element(By.ID, "receive-form-manufacturer").send_keys("Perma Blend")
        driver.execute_script("var box = document.getElementById('receive-form-expiry'); box.type = 'text'; box.value = '2036-13-40';")
        self.set_value("receive-form-at", "2026-06-01T09:00")
        self.submit("#receive-form button")
        error = driver.find_element(By.CSS_SELECTOR, "#receive-form .field-error[data-for=expiry]")
        self.assertIn("2036-13-40", error.text)
        self.assertEqual(driver.find_element(By.ID, "receive-form-lot").get_attribute("value"), "PB-2001", "the form is kept")
        self.assertNotIn("PB-2001", driver.find_element(By.ID, "lots-table").text, "nothing was recorded")
        self.set_value("receive-form-expiry", "2036-12-31")
        self.submit("#receive-form button")
        self.assertEqual(driver.current_url, base + "/lots/PB-2001~perma-blend", "the lot's id: its number and its maker")
        self.open_action("open")
        driver.execute_script("document.getElementById('open-form-at').required = false;")
        self.submit("#open-form button")
        self.assertIn("Give the day and time", driver.find_element(By.CSS_SELECTOR, "#open-form .field-error[data-for=at]").text)
        self.set_value("open-form-at", "2026-06-02T09:30")
        self.submit("#open-form button")
        self.assertEqual(driver.current_url, base + "/lots/PB-2001~perma-blend", "the lot's id: its number and its maker")
        driver.get(base + "/lots")
        self.assertRegex(driver.find_element(By.ID, "lots-table").text, r"PB-2001 .*2026-06-02 on hand")

    def test_16_a_lot_recalled_on_its_page_lists_whom_to_contact(self):
        self.driver.get(base + "/lots/PB-1187")
        driver = self.driver
        self.open_action("recall")
        driver.find_element(By.ID, "recall-form-notice").send_keys("RA-2026-91")
        driver.find_element(By.ID, "recall-form-reason").send_keys("heavy metals above the limit")
        self.set_value("recall-form-at", "2026-07-01T09:00")
        self.submit("#recall-form button")
        contacts = driver.find_element(By.ID, "contacts")
        self.assertIn("RECALLED on 2026-07-01 by Health Canada (RA-2026-91)", contacts.text)
        rows = contacts.find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual(len(rows), 1, "client 42's session used it")
        self.assertRegex(rows[0].text, r"^C-", "a pseudonym for a clinician")
        self.assertNotIn("Jordan", rows[0].text)
        self.shot("lot-recalled")
        driver.get(base + "/lots/PB-1187")
        self.open_action("recall")
        driver.find_element(By.ID, "recall-form-notice").send_keys("RA-2026-92")
        driver.execute_script("var box = document.getElementById('recall-form-at'); box.type = 'text'; box.value = 'next week';")
        self.submit("#recall-form button")
        self.assertTrue(driver.find_element(By.CSS_SELECTOR, "#recall-form .field-error[data-for=at]").text)
        self.assertEqual(driver.find_element(By.ID, "recall-form-notice").get_attribute("value"), "RA-2026-92", "the form is kept")
        self.set_value("recall-form-at", "2026-07-02T09:00")
        self.submit("#recall-form button")
        self.assertIn("already recalled", driver.find_element(By.CSS_SELECTOR, "#recall-form-box .form-error").text)

    def test_17_today_shows_the_clinics_bookings_of_its_day(self):
        # A booking at noon today in Toronto (the server's clock is the real one).
        from datetime import datetime, timezone
        from zoneinfo import ZoneInfo
        toronto = datetime.now(ZoneInfo("America/Toronto"))
        noon = toronto.replace(hour=12, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
        line = json.dumps({"command": "record", "stream": "client-42", "type": "SessionBooked", "data": {
            "bookingId": "B-TODAY", "clinicId": "toronto", "technicianId": "17", "startsAt": noon.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expectedMinutes": 180, "sessionNumber": 2}})
        chain.run("do", stdin=line + "\n")
        self.driver.get(base + "/today")
        bookings = self.wait(EC.presence_of_element_located((By.ID, "today-bookings"))).text
        self.assertIn("Jordan Leeway", bookings)
        self.assertIn("12:00", bookings)
        self.shot("today")

    def test_18_a_booking_and_a_consent_are_recorded_from_the_page_and_wrong_values_are_shown_next_to_their_fields(self):
        driver = self.driver
        driver.get(base + "/clients/42")
        self.open_action("booking")
        driver.find_element(By.ID, "booking-form-booking").send_keys("B-WEB")
        driver.find_element(By.ID, "booking-form-technician").send_keys("17")
        minutes = driver.find_element(By.ID, "booking-form-minutes")
        minutes.clear()
        minutes.send_keys("lots")
        driver.execute_script("document.getElementById('booking-form-at').value = '2026-06-29T10:00';")
        driver.find_element(By.CSS_SELECTOR, "#booking-form button").click()
        error = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "#booking-form .field-error[data-for=minutes]")))
        self.assertIn("expected length in minutes", error.text)
        self.assertEqual(driver.find_element(By.ID, "booking-form-booking").get_attribute("value"), "B-WEB", "the form is kept")
        self.assertNotIn("B-WEB", driver.find_element(By.ID, "timeline").text, "nothing was recorded")
        minutes = driver.find_element(By.ID, "booking-form-minutes")
        minutes.clear()
        minutes.send_keys("180")
        driver.find_element(By.CSS_SELECTOR, "#booking-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=booking"))
        self.assertIn("booked (B-WEB)", self.wait(EC.presence_of_element_located((By.ID, "timeline"))).text)
        self.assertEqual(driver.find_element(By.ID, "done").text, "Booking recorded.")
        self.open_action("consent")
        Select(driver.find_element(By.ID, "consent-form-form")).select_by_value("smp-consent:v5")
        driver.find_element(By.ID, "consent-form-marketing").click()
        driver.execute_script("document.getElementById('consent-form-at').value = '2026-06-29T09:45';")
        driver.find_element(By.CSS_SELECTOR, "#consent-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=consent"))
        self.assertIn("consent smp-consent v5 signed, covering procedure, marketing; text sha256 ", self.driver.find_element(By.ID, "timeline").text)
        self.assertIn("smp-consent v5, signed 2026-06-29, covers procedure, marketing", self.driver.find_element(By.ID, "course-title").find_element(By.XPATH, "..").text)

    def test_19_a_booking_is_moved_and_cancelled_and_a_consultation_out_of_range_is_refused_next_to_its_field(self):
        driver = self.driver
        driver.get(base + "/clients/42")
        self.open_action("reschedule")
        Select(driver.find_element(By.ID, "reschedule-form-booking")).select_by_value("B-WEB")
        self.set_value("reschedule-form-at", "2026-07-06T11:00")
        driver.find_element(By.ID, "reschedule-form-reason").send_keys("client asked")
        driver.find_element(By.CSS_SELECTOR, "#reschedule-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=reschedule"))
        self.assertIn("2026-07-06 11:00", driver.find_element(By.ID, "timeline").text)
        self.open_action("cancel")
        Select(driver.find_element(By.ID, "cancel-form-booking")).select_by_value("B-WEB")
        driver.find_element(By.CSS_SELECTOR, "#cancel-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=cancel"))
        self.assertEqual(driver.find_element(By.ID, "done").text, "Booking cancelled.")
        options = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "no-show-form-booking")).options]
        self.assertNotIn("B-WEB", options, "a cancelled booking is no longer offered")

        self.open_action("consultation")
        driver.find_element(By.ID, "consultation-form-consultant").send_keys("17")
        self.set_value("consultation-form-at", "2026-06-01T10:00")
        driver.find_element(By.ID, "consultation-form-stage").send_keys("IV")
        sessions = driver.find_element(By.ID, "consultation-form-sessions")
        sessions.clear()
        sessions.send_keys("9")
        driver.find_element(By.ID, "consultation-form-notes").send_keys("<img src=x onerror=alert(2)> prefers mornings")
        before = driver.find_element(By.ID, "timeline").text
        driver.find_element(By.CSS_SELECTOR, "#consultation-form button").click()
        error = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "#consultation-form .field-error[data-for=sessions]")))
        self.assertIn("estimated number of sessions, 1 to 7", error.text)
        self.assertTrue(driver.find_element(By.ID, "consultation-form-box").get_attribute("open") is not None, "the refused form is open")
        self.assertEqual(driver.find_element(By.ID, "consultation-form-stage").get_attribute("value"), "IV", "the form is kept")
        self.assertIn("prefers mornings", driver.find_element(By.ID, "consultation-form-notes").get_attribute("value"))
        self.assertEqual(driver.find_element(By.ID, "timeline").text, before, "nothing was recorded")
        sessions = driver.find_element(By.ID, "consultation-form-sessions")
        sessions.clear()
        sessions.send_keys("4")
        driver.find_element(By.CSS_SELECTOR, "#consultation-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=consultation"))
        self.assertEqual(driver.find_element(By.ID, "sessions-done").text, "1 of 4 estimated")
        with self.assertRaises(NoAlertPresentException):
            driver.switch_to.alert.text

    def test_20_a_reaction_and_a_correction_are_recorded_and_the_correction_is_marked(self):
        driver = self.driver
        driver.get(base + "/clients/42")
        self.open_action("reaction")
        self.set_value("reaction-form-at", "2026-06-17T09:00")
        Select(driver.find_element(By.ID, "reaction-form-severity")).select_by_value("moderate")
        driver.find_element(By.CSS_SELECTOR, "#reaction-form input[name=lots][value='PB-1187~perma-blend']").click()
        driver.find_element(By.ID, "reaction-form-actions").send_keys("cold compress; referred to GP")
        driver.find_element(By.ID, "reaction-form-description").send_keys("itching at the crown")
        driver.find_element(By.CSS_SELECTOR, "#reaction-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=reaction"))
        self.assertIn("moderate", driver.find_element(By.ID, "timeline").text)

        self.open_action("amendment")
        choices = Select(driver.find_element(By.ID, "amendment-form-event"))
        session = next(o for o in choices.options if "SessionRecorded" in o.text).get_attribute("value")
        driver.find_element(By.ID, "amendment-form-fields").send_keys("depthMm")
        driver.find_element(By.ID, "amendment-form-values").send_keys('{"depthMm": 0.8')
        driver.find_element(By.ID, "amendment-form-reason").send_keys("depth misread from the machine")
        driver.find_element(By.CSS_SELECTOR, "#amendment-form button").click()
        error = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "#amendment-form .field-error[data-for=event]")))
        self.assertIn("Choose the record to correct", error.text)
        self.assertIn("JSON object", driver.find_element(By.CSS_SELECTOR, "#amendment-form .field-error[data-for=values]").text)
        Select(driver.find_element(By.ID, "amendment-form-event")).select_by_value(session)
        driver.find_element(By.ID, "amendment-form-values").send_keys("}")
        driver.find_element(By.CSS_SELECTOR, "#amendment-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=amendment"))
        amended = driver.find_elements(By.CSS_SELECTOR, "#timeline tr.amendment")
        self.assertEqual(len(amended), 1)
        self.assertIn("depthMm", amended[0].text)

    def test_21_a_touch_up_offers_only_lots_on_hand_and_a_missing_depth_is_shown_next_to_its_field(self):
        driver = self.driver
        driver.get(base + "/clients/42")
        self.open_action("touch-up")
        pigments = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "touch-up-form-pigment")).options]
        self.assertIn("PB-2001~perma-blend", pigments)
        self.assertNotIn("PB-1190~perma-blend", pigments, "a recalled lot is not offered")
        driver.find_element(By.ID, "touch-up-form-technician").send_keys("17")
        self.set_value("touch-up-form-start", "2026-09-01T10:00")
        self.set_value("touch-up-form-end", "2026-09-01T11:00")
        driver.find_element(By.CSS_SELECTOR, "#touch-up-form input[name=areas][value=crown]").click()
        driver.find_element(By.ID, "touch-up-form-depth").send_keys("deep")
        driver.find_element(By.CSS_SELECTOR, "#touch-up-form button").click()
        error = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "#touch-up-form .field-error[data-for=depth]")))
        self.assertIn("needle depth", error.text)
        self.assertTrue(driver.find_element(By.CSS_SELECTOR, "#touch-up-form input[name=areas][value=crown]").is_selected(), "the form is kept")
        depth = self.open_action("touch-up").find_element(By.ID, "touch-up-form-depth")
        depth.clear()
        depth.send_keys("0.8")
        Select(driver.find_element(By.ID, "touch-up-form-pigment")).select_by_value("PB-2001~perma-blend")
        driver.find_element(By.CSS_SELECTOR, "#touch-up-form button").click()
        error = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "#touch-up-form .field-error[data-for=cartridge]")))
        self.assertIn("needle cartridge", error.text, "the rule's refusal is next to the lot it concerns")
        Select(driver.find_element(By.ID, "touch-up-form-cartridge")).select_by_value("NC-0412~kwadron:3RL:0.25")
        driver.find_element(By.CSS_SELECTOR, "#touch-up-form button").click()
        self.wait(EC.url_to_be(base + "/clients/42?done=touch-up"))
        self.assertIn("touch-up", driver.find_element(By.ID, "timeline").text)
        self.assertEqual(driver.find_element(By.CSS_SELECTOR, "g[data-area=crown]").get_attribute("data-count"), "2")

    def test_22_reports_a_clinician_reads_are_listed_and_the_workload_has_a_chart(self):
        driver = self.driver
        driver.get(base + "/reports")
        listed = driver.find_element(By.ID, "report-list").text
        self.assertIn("Technician workload", listed)
        self.assertNotIn("access log", listed, "a clinician does not read the access log")
        driver.get(base + "/reports/workload?from=2026-06-01&to=2026-09-30&clinic=toronto")
        bars = driver.find_elements(By.CSS_SELECTOR, "svg.bars g.col")
        self.assertGreater(len(bars), 0, driver.find_element(By.CSS_SELECTOR, "main").text)
        self.assertIn("Technician 17", driver.find_element(By.CSS_SELECTOR, "figure.chart figcaption").text)
        self.assertIn("17", driver.find_element(By.CSS_SELECTOR, "table.report").text)
        self.shot("workload")
        driver.get(base + "/reports/workload?from=2026-06-01&to=2026-13-01&clinic=toronto")
        error = driver.find_element(By.CSS_SELECTOR, ".field-error[data-for=to]")
        self.assertIn("2026-13-01", error.text)
        driver.get(base + "/reports/audit")
        self.assertIn("You may not read this report", driver.find_element(By.ID, "report-refused").text)
        driver.get(base + "/today")
        self.assertEqual(len(driver.find_elements(By.CSS_SELECTOR, ".due-section")), 3, "touch-ups, guarantees and overdue courses")

    def submit(self, selector):
        """Clicks a form's button and waits for the next page."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(By.CSS_SELECTOR, selector).click()

        def replaced(driver):
            # The old page's element is gone; chromedriver sometimes says so with another
            # error than "stale" while the new document loads.
            try:
                old.is_enabled()
                return False
            except WebDriverException:
                return driver.execute_script("return document.readyState") == "complete"

        self.wait(replaced)

    def accept_confirmation(self):
        WebDriverWait(self.driver, 10).until(EC.alert_is_present())
        self.driver.switch_to.alert.accept()

    def test_23_an_admin_signs_in_with_a_second_factor_verifies_the_log_and_backs_it_up(self):
        driver = self.driver
        self.sign_in("admin")
        self.wait(EC.presence_of_element_located((By.ID, "search-form")))
        driver.get(base + "/admin")
        self.assertIn("not since this server started", driver.find_element(By.ID, "last-passed").text)
        self.submit("#verify-form button")
        result = self.wait(EC.presence_of_element_located((By.ID, "admin-result")))
        self.assertEqual(result.text, "The log is intact.")
        stats = json.loads(chain.run("stats", "--json"))
        position = driver.find_element(By.ID, "head-position").text
        self.assertIn(f"head {position} {driver.find_element(By.ID, 'head-hash').text}", driver.find_element(By.ID, "last-passed").text)
        self.assertGreaterEqual(stats["headPosition"], int(position))
        folder = driver.find_element(By.ID, "backup-folder").text
        name = driver.find_element(By.ID, "backup-name")
        self.assertRegex(name.get_attribute("value"), r"^stipple-\d{4}-\d{2}-\d{2}\.sqlite$")
        name.clear()
        name.send_keys("../escape.sqlite")
        self.submit("#backup-form button")
        self.assertIn("A backup is named by a file name", self.wait(EC.presence_of_element_located((By.ID, "admin-result"))).find_element(By.XPATH, "..").text)
        self.assertEqual(driver.find_element(By.ID, "backup-name").get_attribute("value"), "../escape.sqlite", "the form keeps what was typed")
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(folder), "escape.sqlite")))
        target = os.path.join(folder, "backup-from-page.sqlite")
        name = driver.find_element(By.ID, "backup-name")
        name.clear()
        name.send_keys("backup-from-page.sqlite")
        self.submit("#backup-form button")
        self.assertEqual(self.wait(EC.presence_of_element_located((By.ID, "admin-result"))).text, f"Backed up to {target}.")
        self.assertTrue(os.path.exists(target))
        self.shot("admin")

    def test_24_a_user_added_on_the_page_sets_a_password_through_a_one_time_link(self):
        driver = self.driver
        driver.get(base + "/admin/users")
        driver.find_element(By.ID, "user-form-name").send_keys("not a name!")
        driver.find_element(By.CSS_SELECTOR, "#user-form input[name=clinics][value=toronto]").click()
        driver.find_element(By.CSS_SELECTOR, "#user-form button").click()
        self.assertTrue(self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "#user-form .field-error[data-for=name]"))).text)
        self.assertNotIn("not a name!", driver.find_element(By.ID, "users-table").text, "nothing was added")
        name = driver.find_element(By.ID, "user-form-name")
        name.clear()
        name.send_keys("dr-new")
        driver.find_element(By.CSS_SELECTOR, "#user-form button").click()
        link = self.wait(EC.presence_of_element_located((By.ID, "invite-link"))).text
        self.assertTrue(link.startswith(base + "/invite/"), link)
        self.assertIn("dr-new", driver.find_element(By.ID, "users-table").text)
        self.shot("users")
        other = browser()
        try:
            other.get(link)
            self.assertEqual(other.find_element(By.ID, "invite-user").text, "dr-new")
            other.find_element(By.ID, "new-password").send_keys("a new chair phrase")
            other.find_element(By.ID, "repeat-password").send_keys("another chair phrase")
            other.find_element(By.CSS_SELECTOR, "#invite-form button").click()
            self.assertIn("differ", WebDriverWait(other, 15).until(EC.presence_of_element_located((By.ID, "invite-error"))).text)
            other.find_element(By.ID, "new-password").send_keys("a new chair phrase")
            other.find_element(By.ID, "repeat-password").send_keys("a new chair phrase")
            other.find_element(By.CSS_SELECTOR, "#invite-form button").click()
            self.assertIn("Your password is set", WebDriverWait(other, 15).until(EC.presence_of_element_located((By.ID, "sign-in-note"))).text)
            other.find_element(By.ID, "password").send_keys("a new chair phrase")
            other.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
            WebDriverWait(other, 15).until(EC.presence_of_element_located((By.ID, "search-form")))
            other.get(link)
            self.assertIn("not valid", other.find_element(By.ID, "message").text, "a link works once")
        finally:
            other.quit()
        driver.get(base + "/admin/users")
        self.assertIn("set", driver.find_element(By.CSS_SELECTOR, "tr[data-user=dr-new]").text)
        # Another role: reception works for named clinics, so none ticked is refused there.
        Select(driver.find_element(By.ID, "access-form-name")).select_by_value("dr-new")
        Select(driver.find_element(By.ID, "access-form-role")).select_by_value("reception")
        self.submit("#access-form button")
        error = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "#access-form .field-error[data-for=clinics]")))
        self.assertIn("works for named clinics", error.text)
        self.assertEqual(Select(driver.find_element(By.ID, "access-form-name")).first_selected_option.get_attribute("value"), "dr-new", "the form keeps what was chosen")
        self.assertEqual(Select(driver.find_element(By.ID, "access-form-role")).first_selected_option.get_attribute("value"), "reception")
        self.assertIn("clinician", driver.find_element(By.CSS_SELECTOR, "tr[data-user=dr-new]").text, "nothing changed")
        driver.find_element(By.CSS_SELECTOR, "#access-form input[name=clinics][value=brampton]").click()
        self.submit("#access-form button")
        self.assertIn("dr-new is now reception at brampton", self.wait(EC.presence_of_element_located((By.ID, "shown"))).text)
        row = driver.find_element(By.CSS_SELECTOR, "tr[data-user=dr-new]").text
        self.assertIn("reception", row)
        self.assertIn("brampton", row)
        driver.find_element(By.CSS_SELECTOR, "tr[data-user=dr-new] button.danger").click()
        self.accept_confirmation()
        self.wait(EC.presence_of_element_located((By.ID, "shown")))
        self.assertIn("disabled", driver.find_element(By.CSS_SELECTOR, "tr[data-user=dr-new]").text)

    def test_25_a_rebuild_shows_its_progress_until_it_is_done(self):
        driver = self.driver
        driver.get(base + "/admin/reports")
        self.assertIn("audit", driver.find_element(By.ID, "projections-table").text)
        driver.find_element(By.CSS_SELECTOR, "#rebuild-form button").click()
        self.wait(EC.url_contains("/admin/rebuilds/"))
        self.wait(EC.text_to_be_present_in_element((By.ID, "rebuild-summary"), "Done: "), seconds=60)
        self.assertIn("audit v", driver.find_element(By.ID, "rebuild-summary").text)
        self.assertEqual(driver.find_element(By.ID, "rebuild-bar").get_attribute("value"), "100")
        self.shot("rebuild")

    def test_26_reports_for_an_admin_the_records_as_csv_and_a_clients_access_log(self):
        driver = self.driver
        driver.get(base + "/reports/records?from=2026-01-01&to=2026-12-31")
        csv_path = driver.find_element(By.ID, "csv-link").get_attribute("href").replace(base, "")
        status, headers, body = self.request(csv_path, cookie=self.cookie())
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertTrue(body.startswith("\ufeff"), "a byte-order mark, for spreadsheets")
        self.assertTrue(body[1:].startswith("date,client,name,contact,procedure"), body[:200])
        self.assertIn("Jordan Leeway", body)
        driver.get(base + "/reports/access?client=42")
        self.assertIn("client page", driver.find_element(By.CSS_SELECTOR, "table.report").text)
        driver.get(base + "/reports/audit")
        self.assertFalse(driver.find_elements(By.ID, "report-refused"))
        self.assertRegex(driver.find_element(By.TAG_NAME, "main").text, r"\d+ procedures checked: 0 with findings")
        self.shot("audit")

    def test_27_an_erasure_names_what_it_cannot_reach_and_the_client_leaves_search(self):
        driver = self.driver
        driver.get(base + "/clients/45")
        driver.find_element(By.ID, "erase-link").click()
        self.assertIn("What it cannot reach", self.wait(EC.presence_of_element_located((By.ID, "erase-form"))).find_element(By.XPATH, "..").text)
        driver.find_element(By.ID, "erase-reason").send_keys("request R-9")
        driver.find_element(By.CSS_SELECTOR, "#erase-form button").click()
        self.accept_confirmation()
        self.assertIn("Tick the box", self.wait(EC.presence_of_element_located((By.ID, "erase-error"))).text)
        self.assertEqual(len(self.search("scripted")), 1, "nothing was erased")
        driver.get(base + "/clients/45/erase")
        driver.find_element(By.ID, "erase-reason").send_keys("request R-9")
        driver.find_element(By.ID, "erase-confirm").click()
        driver.find_element(By.CSS_SELECTOR, "#erase-form button").click()
        self.accept_confirmation()
        self.assertIn("is erased", self.wait(EC.presence_of_element_located((By.ID, "message"))).text)
        self.assertEqual(self.search("scripted"), [])

    def test_28_a_technician_is_registered_certified_and_suspended_on_the_pages(self):
        driver = self.driver
        driver.get(base + "/technicians")
        self.assertRegex(driver.find_element(By.ID, "technicians-table").text, r"17 T\. Seventeen .*certified")
        self.open_action("tech-register")
        driver.find_element(By.ID, "tech-register-form-id").send_keys("21")
        driver.find_element(By.ID, "tech-register-form-name").send_keys("R. Twentyone")
        Select(driver.find_element(By.ID, "tech-register-form-clinic")).select_by_value("toronto")
        self.set_value("tech-register-form-from", "2026-01-01")
        self.submit("#tech-register-form button")
        self.assertEqual(driver.current_url, base + "/technicians/21", driver.find_element(By.TAG_NAME, "main").text)
        self.assertEqual(driver.find_element(By.ID, "technician-level").text, "none in force")
        self.open_action("tech-certify")
        driver.find_element(By.ID, "tech-certify-form-certification").send_keys("C-21")
        driver.execute_script("var box = document.getElementById('tech-certify-form-issued'); box.type = 'text'; box.value = '2026-02-30';")
        self.set_value("tech-certify-form-expires", "2027-01-10")
        self.submit("#tech-certify-form button")
        error = driver.find_element(By.CSS_SELECTOR, "#tech-certify-form .field-error[data-for=issued]")
        self.assertIn("2026-02-30", error.text)
        self.assertEqual(driver.find_element(By.ID, "tech-certify-form-certification").get_attribute("value"), "C-21", "the form is kept")
        self.set_value("tech-certify-form-issued", "2026-01-10")
        self.submit("#tech-certify-form button")
        self.assertEqual(driver.find_element(By.ID, "done").text, "Certification recorded.")
        self.assertRegex(driver.find_element(By.ID, "certifications-table").text, r"C-21 certified 2026-01-10 to 2027-01-10")
        self.open_action("tech-suspend")
        Select(driver.find_element(By.ID, "tech-suspend-form-certification")).select_by_value("C-21")
        self.set_value("tech-suspend-form-on", "2026-06-01")
        driver.find_element(By.ID, "tech-suspend-form-reason").send_keys("<b>complaint</b> under review")
        self.submit("#tech-suspend-form button")
        self.assertIn("suspended since 2026-06-01", driver.find_element(By.ID, "certifications-table").text)
        self.assertIn("<b>complaint</b> under review", driver.find_element(By.ID, "technician-history").text, "shown as text")
        self.assertIn("none on file", driver.find_element(By.ID, "technician-hepatitis-b").text)
        self.open_action("tech-hepatitis-b")
        Select(driver.find_element(By.ID, "tech-hepatitis-b-form-status")).select_by_value("declined")
        self.set_value("tech-hepatitis-b-form-from", "2026-01-02")
        self.submit("#tech-hepatitis-b-form button")
        self.assertEqual(driver.find_element(By.ID, "done").text, "Hepatitis B status on file.")
        self.assertEqual(driver.find_element(By.ID, "technician-hepatitis-b").text, "declined (on file from 2026-01-02)")
        self.shot("technician")

    def test_29_the_main_pages_fit_a_10_inch_tablet_held_upright(self):
        tablet = browser(800, 1280)
        try:
            self.sign_in("dr-lee", driver=tablet)
            WebDriverWait(tablet, 15).until(EC.presence_of_element_located((By.ID, "search-form")))
            for path in ["/", "/clients/42", "/today", "/lots", "/lots/PB-1187", "/technicians", "/reports/workload?clinic=toronto"]:
                tablet.get(base + path)
                overflow = tablet.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                self.assertLessEqual(overflow, 0, f"{path} scrolls sideways by {overflow} px")
            tablet.get(base + "/clients/42")
            height = tablet.execute_script("return document.documentElement.scrollHeight")
            tablet.set_window_size(800, min(height + 140, 4000))
            tablet.save_screenshot(os.path.join(SHOTS, "client-page-tablet.png"))
        finally:
            tablet.quit()


class IdleLock(unittest.TestCase):
    """A second server on the same log whose sessions lock after 3 idle seconds."""

    @classmethod
    def setUpClass(cls):
        cls.base = chain.serve("--idle-lock-seconds", "3")
        cls.driver = browser(1024, 1300)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def test_the_page_locks_and_the_password_opens_it_with_the_typing_kept(self):
        driver = self.driver
        driver.get(self.base + "/sign-in")
        driver.find_element(By.ID, "name").send_keys("dr-lee")
        driver.find_element(By.ID, "password").send_keys(PASSWORDS["dr-lee"])
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "search-form")))
        driver.find_element(By.ID, "q").send_keys("jord")
        overlay = WebDriverWait(driver, 20).until(EC.visibility_of_element_located((By.ID, "lock")))
        driver.save_screenshot(os.path.join(SHOTS, "idle-lock.png"))
        driver.find_element(By.ID, "unlock-password").send_keys("a wrong password here")
        driver.find_element(By.CSS_SELECTOR, "#unlock-form button").click()
        error = WebDriverWait(driver, 15).until(EC.visibility_of_element_located((By.ID, "unlock-error")))
        self.assertIn("wrong", error.text)
        driver.find_element(By.ID, "unlock-password").send_keys(PASSWORDS["dr-lee"])
        driver.find_element(By.CSS_SELECTOR, "#unlock-form button").click()
        WebDriverWait(driver, 15).until(EC.invisibility_of_element(overlay))
        self.assertEqual(driver.find_element(By.ID, "q").get_attribute("value"), "jord", "the typing stayed")
        driver.find_element(By.ID, "q").send_keys("an")
        driver.find_element(By.CSS_SELECTOR, "#search-form button").click()
        rows = WebDriverWait(driver, 15).until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#results tbody tr")))
        self.assertIn("Jordan Leeway", rows[0].text)

    def test_a_form_sent_after_the_lock_is_kept_in_the_lock_page(self):
        driver = self.driver
        driver.delete_all_cookies()
        driver.get(self.base + "/sign-in")
        driver.find_element(By.ID, "name").send_keys("dr-lee")
        driver.find_element(By.ID, "password").send_keys(PASSWORDS["dr-lee"])
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "search-form")))
        token = driver.find_element(By.CSS_SELECTOR, "#search-form input[name=_csrf]").get_attribute("value")
        # Without the page's script (a browser that does not run it): the server locks alone.
        driver.execute_script("""
            const form = document.getElementById('search-form');
            document.getElementById('q').value = 'leeway';
            setTimeout(() => form.submit(), 4500);
        """)
        WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, "lock-form")))
        kept = driver.find_element(By.CSS_SELECTOR, "#lock-form input[name='kept.field.q']").get_attribute("value")
        self.assertEqual(kept, "leeway")
        driver.find_element(By.ID, "lock-password").send_keys(PASSWORDS["dr-lee"])
        driver.find_element(By.CSS_SELECTOR, "#lock-form button").click()
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "resend-form")))
        self.assertEqual(driver.find_element(By.CSS_SELECTOR, "#resend-form input[name=_csrf]").get_attribute("value"), token)
        driver.find_element(By.CSS_SELECTOR, "#resend-form button").click()
        rows = WebDriverWait(driver, 15).until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#results tbody tr")))
        self.assertIn("Jordan Leeway", rows[0].text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
