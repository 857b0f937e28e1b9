/**
 * The SVG chart of the ratios (ours / each peer), rendered in Node without a browser: a Vega-Lite spec is
 * compiled to Vega and drawn by `view.toSVG()`. Ratios span 0.1x-500x, so the axis is logarithmic; the marks
 * are points with a rule for the round-to-round spread (log-scale bars have no zero to grow from and render
 * empty), and a line marks 1x (parity).
 *
 * @module
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { type BenchResults, ratios, sizeLabel } from './results.js';

/** The Vega-Lite spec of the chart (exported for the test: it must compile). */
export function chartSpec(r: BenchResults): TopLevelSpec {
  const values = ratios(r).map((x) => ({
    comparison: `${x.label} (${x.op})`,
    group: x.group,
    size: sizeLabel(x.size),
    median: x.ratio.median,
    min: x.ratio.min,
    max: x.ratio.max,
  }));
  const order = [...new Set(values.map((v) => v.comparison))];
  const sizes = r.plan.sizes.map(sizeLabel);
  const rows = {
    y: { field: 'comparison', type: 'nominal', sort: order, title: null, axis: { labelLimit: 420 } },
    yOffset: { field: 'size', type: 'nominal', sort: sizes },
    color: { field: 'size', type: 'nominal', sort: sizes, title: 'payload', scale: { scheme: 'tableau10' } },
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Mesh Encryption / peer, ops/s ratio (> 1: Mesh is faster)',
      subtitle: `median of ${r.plan.rounds} interleaved rounds, line = lowest to highest round; ${r.createdAt.slice(0, 10)}, ${r.mode} run`,
    },
    width: 520,
    height: { step: 12 },
    background: 'white',
    data: { values },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          ...rows,
          x: {
            field: 'min',
            type: 'quantitative',
            scale: { type: 'log', domain: [0.05, 1000] },
            title: 'ratio (log scale)',
          },
          x2: { field: 'max' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          ...rows,
          x: { field: 'median', type: 'quantitative' },
          tooltip: [
            { field: 'comparison' },
            { field: 'size' },
            { field: 'median', format: '.2f' },
            { field: 'min', format: '.2f' },
            { field: 'max', format: '.2f' },
          ],
        },
      },
      {
        data: { values: [{ x: 1 }] },
        mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

/** The chart as SVG text. */
export async function renderChart(r: BenchResults): Promise<string> {
  const vega = compile(chartSpec(r)).spec;
  const view = new View(parse(vega), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
