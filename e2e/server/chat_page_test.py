#!/usr/bin/env python3
"""The built-in chat page in headless Chromium (Debian's chromium + chromium-driver, selenium from PyPI):
type a message, press Enter, wait for the streamed reply, check that the reply grew in several steps
(streaming, not one block), save a screenshot.

Usage: python3 e2e/server/chat_page_test.py --dsllm .build/release/dsllm [--screenshot bench/out/chat-page.png]
"""
import argparse
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import random_model, serving  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsllm", required=True)
    ap.add_argument("--screenshot", default="bench/out/chat-page.png")
    args = ap.parse_args()
    model = random_model(args.dsllm, "--layers", "4", "--hidden", "256")
    driver = None
    with serving(args.dsllm, model) as (port, _):
        try:
            opts = Options()
            for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,800"]:
                opts.add_argument(a)
            opts.binary_location = "/usr/bin/chromium"
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
            driver.get(f"http://127.0.0.1:{port}/")
            driver.find_element(By.ID, "max_tokens").clear()
            driver.find_element(By.ID, "max_tokens").send_keys("48")
            box = driver.find_element(By.ID, "input")
            box.send_keys("Hello! Tell me a story.")
            box.send_keys(Keys.ENTER)
            lengths = []
            deadline = time.time() + 60
            while time.time() < deadline:
                replies = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")
                text = replies[-1].text if replies else ""
                if not lengths or len(text) != lengths[-1]:
                    lengths.append(len(text))
                meta = driver.find_elements(By.CSS_SELECTOR, ".meta")
                if meta and "tokens in" in meta[-1].text:
                    break
                time.sleep(0.02)
            user = driver.find_elements(By.CSS_SELECTOR, ".msg.user")
            assert user and user[-1].text == "Hello! Tell me a story.", "the typed message is shown"
            final = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1].text
            assert final, "a reply arrived"
            distinct = len([n for n in lengths if n > 0])
            assert distinct >= 3, f"the reply grew in steps (streaming): lengths seen {lengths}"
            os.makedirs(os.path.dirname(args.screenshot) or ".", exist_ok=True)
            driver.save_screenshot(args.screenshot)
            print(f"chat page ok: reply of {len(final)} characters arrived in {distinct} visible steps; screenshot {args.screenshot}")
        finally:
            if driver:
                driver.quit()


if __name__ == "__main__":
    main()
