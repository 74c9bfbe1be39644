#!/usr/bin/python3
"""Scrape Prometheus text endpoints and parse them with prometheus_client (Debian's
python3-prometheus-client), a parser no one here wrote.

  metrics_scrape.py URL...              JSON: {URL: [{"name", "labels", "value", "type"}...]}
  metrics_scrape.py --sum NAME URL      the sum of every sample NAME of URL (0 when absent),
                                        optionally restricted with --label key=value

Exit status 1 (and a message on stderr) when an endpoint cannot be read or parsed.
"""
import argparse
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as reply:
        if reply.status != 200:
            raise RuntimeError("%s: HTTP %d" % (url, reply.status))
        content_type = reply.headers.get("Content-Type", "")
        if not content_type.startswith("text/plain"):
            raise RuntimeError("%s: Content-Type %s" % (url, content_type))
        text = reply.read().decode("utf-8")
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": sample.labels,
                            "value": sample.value, "type": family.type})
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sum", metavar="NAME")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    try:
        scraped = {url: scrape(url) for url in args.urls}
    except Exception as error:  # noqa: BLE001 - any failure is reported the same way
        print("metrics_scrape: %s" % error, file=sys.stderr)
        return 1
    if args.sum:
        wanted = dict(item.split("=", 1) for item in args.label)
        total = 0.0
        for sample in scraped[args.urls[0]]:
            if sample["name"] == args.sum and all(
                    sample["labels"].get(k) == v for k, v in wanted.items()):
                total += sample["value"]
        print(int(total) if total.is_integer() else total)
        return 0
    print(json.dumps(scraped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
