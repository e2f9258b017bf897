"""Parses a Prometheus text exposition with the prometheus_client library's
parser (Debian's python3-prometheus-client) and prints one line per metric
family: its name, type and number of samples. Exits non-zero, with the
parser's message, when the text does not parse.

With a Grafana dashboard (packaging/grafana/unionsync.json) as the second
argument, also checks that every unionsync_* metric its queries use is one
the scraped node exports."""
import json
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    families = list(text_string_to_metric_families(text))
    if not families:
        sys.exit("no metric families")
    names = set()
    for family in families:
        print(family.name, family.type, len(family.samples))
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        names.update(sample.name for sample in family.samples)
    if len(sys.argv) > 2:
        with open(sys.argv[2], encoding="utf-8") as f:
            dashboard = json.load(f)
        used = set()
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                used.update(re.findall(r"unionsync_[a-z_]+", target["expr"]))
        unknown = sorted(used - names)
        if unknown:
            sys.exit("the dashboard uses metrics the node does not export: "
                     + ", ".join(unknown))
        print("dashboard", len(dashboard["panels"]), "panels,", len(used),
              "metrics, all exported")


if __name__ == "__main__":
    main()
