/**
 * The experiment chart's PNG: the same SVG as experiment.svg, rendered by resvg
 * (@resvg/resvg-js, prebuilt binaries, no install script) with a real font, so the
 * PNG reads like a figure in a paper. Rendered at 2x for sharp text on screens and
 * in documents.
 *
 * The font: resvg draws text only with a font it has loaded, and a fresh machine may
 * have none. It gets, in order: the file in $MODEL_DISTILL_CHART_FONT, the first of
 * the usual locations of DejaVu Sans / Liberation Sans / Arial / Helvetica that
 * exists, and the system's fonts. When no font draws text at all the PNG still holds
 * the bars, and `textRendered` is false so the caller can say how to fix it
 * (install fonts-dejavu-core, or set MODEL_DISTILL_CHART_FONT).
 */
import * as fs from 'fs';

import type * as ResvgModule from '@resvg/resvg-js';
import type { ResvgRenderOptions } from '@resvg/resvg-js';

export const CHART_FONT_ENV = 'MODEL_DISTILL_CHART_FONT';

/** Where sans-serif fonts the chart's font-family list names usually are (Debian/Ubuntu, Fedora, Arch, macOS, Windows). */
export const CHART_FONT_CANDIDATES: readonly string[] = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf',
  '/Library/Fonts/Arial.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  '/System/Library/Fonts/Helvetica.ttc',
  'C:\\Windows\\Fonts\\arial.ttf',
];

/** The font file the chart loads: $MODEL_DISTILL_CHART_FONT (which must exist), else the first candidate found, else null. */
export function findChartFont(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = CHART_FONT_CANDIDATES): string | null {
  const chosen = env[CHART_FONT_ENV];
  if (chosen !== undefined && chosen !== '') {
    if (!fs.existsSync(chosen)) throw new Error(`${CHART_FONT_ENV}=${chosen}: no such font file`);
    return chosen;
  }
  return candidates.find((f) => fs.existsSync(f)) ?? null;
}

export interface ChartPng {
  png: Buffer;
  width: number;
  height: number;
  /** The font file loaded besides the system's (null: system fonts only). */
  font: string | null;
  /** false when no loaded font could draw the chart's text (the PNG has the bars only). */
  textRendered: boolean;
}

/** Renders an SVG (experiment.svg) to PNG at `scale` (default 2) with a real font. */
export function renderChartPng(svg: string, options: { scale?: number; env?: NodeJS.ProcessEnv } = {}): ChartPng {
  // Loaded here, not at the top: `require('model-distill')` must not load resvg's native binary
  // (the package test checks that only the addon is loaded); only an experiment draws charts.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Resvg } = require('@resvg/resvg-js') as typeof ResvgModule;
  const font = findChartFont(options.env);
  const fontOptions: ResvgRenderOptions['font'] = {
    loadSystemFonts: true,
    fontFiles: font === null ? [] : [font],
    sansSerifFamily: 'DejaVu Sans',
  };
  const rendered = new Resvg(svg, { font: fontOptions, fitTo: { mode: 'zoom', value: options.scale ?? 2 }, background: '#ffffff' }).render();
  // resvg drops text it has no font for: probe with one label to tell the caller.
  const probe = new Resvg('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="2" y="15" font-family="sans-serif" font-size="12">0.9</text></svg>', {
    font: fontOptions,
  });
  return { png: rendered.asPng(), width: rendered.width, height: rendered.height, font, textRendered: probe.getBBox() !== undefined };
}
