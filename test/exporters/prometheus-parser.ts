/**
 * Parses exposition text with the Prometheus project's own Python client parsers
 * (`prometheus_client.parser` for the 0.0.4 text format, `prometheus_client.openmetrics.parser`
 * for OpenMetrics, which is strict: EOF marker, counter `_total`, bucket order, `le` values).
 * There is no maintained JavaScript parser that handles labelled histograms, so the tests
 * call the reference one. CI installs it (`pip install prometheus-client`).
 */
import { spawnSync } from 'node:child_process';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  unit: string;
  documentation: string;
  samples: ParsedSample[];
}

const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
fmt = sys.argv[1]
parse = om_parse if fmt == 'openmetrics' else text_parse
def num(v):
    if math.isinf(v): return '+Inf' if v > 0 else '-Inf'
    if math.isnan(v): return 'NaN'
    return v
out = []
for f in parse(sys.stdin.read()):
    out.append({'name': f.name, 'type': f.type, 'unit': f.unit, 'documentation': f.documentation,
                'samples': [{'name': s.name, 'labels': s.labels, 'value': num(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

let chosen: string | null | undefined;

/**
 * The first Python that can import prometheus_client: $PYTHON, `python3` on the PATH (pyenv on
 * a developer machine), then Debian's /usr/bin/python3 (python3-prometheus-client, which
 * .ci/run installs).
 */
function python(): string | null {
  if (chosen !== undefined) return chosen;
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  chosen =
    candidates.find(
      (c) => spawnSync(c, ['-c', 'import prometheus_client'], { encoding: 'utf8' }).status === 0,
    ) ?? null;
  return chosen;
}

/** True when python3 with prometheus_client is available. */
export function prometheusParserAvailable(): boolean {
  return python() !== null;
}

/** Parses `text` with the reference parser; throws with the parser's message when it rejects it. */
export function parseExposition(text: string, format: 'text' | 'openmetrics'): ParsedFamily[] {
  const py = python();
  if (py === null)
    throw new Error('No python3 with prometheus_client (apt-get install python3-prometheus-client).');
  const r = spawnSync(py, ['-c', SCRIPT, format], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prometheus_client rejected the ${format} exposition:\n${r.stderr}`);
  const families = JSON.parse(r.stdout) as Array<
    Omit<ParsedFamily, 'samples'> & {
      samples: Array<{ name: string; labels: Record<string, string>; value: number | string }>;
    }
  >;
  return families.map((f) => ({
    ...f,
    samples: f.samples.map((s) => ({
      ...s,
      value:
        s.value === '+Inf'
          ? Number.POSITIVE_INFINITY
          : s.value === '-Inf'
            ? Number.NEGATIVE_INFINITY
            : s.value === 'NaN'
              ? Number.NaN
              : (s.value as number),
    })),
  }));
}
