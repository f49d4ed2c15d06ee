/**
 * A request-latency histogram cheap enough for every response. prom-client's Histogram hashes its label
 * set on every observation, even through a labelled child, which measured at ~20% of the throughput of a
 * small route. Here a series is found by one string key and an observation is a short bucket scan and three
 * additions; the Prometheus text is produced at scrape time by prom-client's own registry (this object
 * implements the part of its metric interface the registry reads).
 */
export interface Series {
  labels: Record<string, string>;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, Series>();
  #generation = 0;

  /** Bumped by `reset`: callers that keep series compare it to know theirs are still reported. */
  get generation(): number {
    return this.#generation;
  }

  constructor(options: { name: string; help: string; buckets: readonly number[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#buckets = options.buckets;
  }

  /** Records `seconds` for the series `key`; `labels` is read only when the series is new. */
  observe(key: string, labels: () => Record<string, string>, seconds: number): void {
    this.record(this.series(key, labels), seconds);
  }

  /** The series `key` (created with `labels()` if new): a caller that keeps it records without a lookup. */
  series(key: string, labels: () => Record<string, string>): Series {
    let series = this.#series.get(key);
    if (!series) {
      series = { labels: labels(), counts: new Float64Array(this.#buckets.length + 1), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    return series;
  }

  /** Records `seconds` in a series this histogram returned (and has not dropped since: see `reset`). */
  record(series: Series, seconds: number): void {
    let i = 0;
    while (i < this.#buckets.length && seconds > (this.#buckets[i] as number)) i++;
    (series.counts as Float64Array)[i] = ((series.counts as Float64Array)[i] as number) + 1;
    series.sum += seconds;
    series.count++;
  }

  /** What prom-client's registry formats: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  get() {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      this.#buckets.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...series.labels, le: bound },
          value: cumulative,
        });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { ...series.labels, le: '+Inf' },
        value: series.count,
      });
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Drops every series; series handed out before are no longer reported (callers must not keep them). */
  reset(): void {
    this.#generation++;
    this.#series.clear();
  }
}
