/**
 * The experiment's grouped bar chart: a layout (a list of rectangles and short
 * texts) written as SVG. experiment.svg is that text; experiment.png is the same
 * SVG rendered by resvg with a real font (render-png.ts).
 */
export interface Bar {
  group: string;
  series: string;
  value: number | null;
}

export interface ChartOptions {
  title: string;
  /** Series in legend order, with their colours (#rrggbb). */
  series: { name: string; color: string }[];
  width?: number;
  height?: number;
}

type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; color: string }
  | { kind: 'text'; x: number; y: number; text: string; color: string; anchor: 'start' | 'middle' | 'end'; size: number };

export interface ChartLayout {
  width: number;
  height: number;
  shapes: Shape[];
}

/** The fonts render-png.ts looks for first, then any sans-serif. */
const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';
const AXIS = '#333333';
const GRID = '#dddddd';

/** Positions every bar, axis tick and label. Bars with a null value are left out and labelled n/a. */
export function layoutBarChart(bars: Bar[], options: ChartOptions): ChartLayout {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const left = 50;
  const right = 20;
  const top = 40;
  const bottom = 70;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = bars.map((b) => b.value).filter((v): v is number => v !== null);
  // The axis starts below the smallest bar (rounded down to 0.1) so that small
  // differences are visible; the tick labels say where it starts.
  const yMin = values.length === 0 ? 0 : Math.max(0, Math.floor((Math.min(...values) - 0.05) * 10) / 10);
  const yMax = 1;
  const yOf = (v: number) => top + plotH * (1 - (v - yMin) / (yMax - yMin));
  const shapes: Shape[] = [{ kind: 'rect', x: 0, y: 0, w: width, h: height, color: '#ffffff' }];

  shapes.push({ kind: 'text', x: width / 2, y: 22, text: options.title, color: AXIS, anchor: 'middle', size: 14 });
  for (let t = 0; t <= 5; t++) {
    const v = yMin + ((yMax - yMin) * t) / 5;
    const y = Math.round(yOf(v));
    shapes.push({ kind: 'rect', x: left, y, w: plotW, h: 1, color: GRID });
    shapes.push({ kind: 'text', x: left - 6, y: y + 4, text: v.toFixed(2), color: AXIS, anchor: 'end', size: 11 });
  }
  shapes.push({ kind: 'rect', x: left, y: top, w: 1, h: plotH, color: AXIS });
  shapes.push({ kind: 'rect', x: left, y: top + plotH, w: plotW, h: 1, color: AXIS });

  const groups = [...new Set(bars.map((b) => b.group))];
  const colorOf = new Map(options.series.map((s) => [s.name, s.color]));
  const groupW = plotW / Math.max(1, groups.length);
  groups.forEach((group, gi) => {
    const inGroup = bars.filter((b) => b.group === group);
    const barW = Math.min(48, (groupW * 0.8) / inGroup.length);
    const x0 = left + gi * groupW + (groupW - barW * inGroup.length) / 2;
    inGroup.forEach((bar, bi) => {
      const x = Math.round(x0 + bi * barW);
      const cx = x + barW / 2;
      if (bar.value === null) {
        shapes.push({ kind: 'text', x: cx, y: top + plotH - 6, text: 'n/a', color: AXIS, anchor: 'middle', size: 10 });
        return;
      }
      const y = Math.round(yOf(bar.value));
      shapes.push({ kind: 'rect', x: x + 1, y, w: Math.max(1, Math.round(barW) - 2), h: top + plotH - y, color: colorOf.get(bar.series) ?? '#888888' });
      shapes.push({ kind: 'text', x: cx, y: y - 4, text: bar.value.toFixed(3), color: AXIS, anchor: 'middle', size: 10 });
    });
    shapes.push({ kind: 'text', x: left + gi * groupW + groupW / 2, y: top + plotH + 18, text: group, color: AXIS, anchor: 'middle', size: 12 });
  });

  // Legend, one row under the axis.
  let lx = left;
  const ly = height - 22;
  for (const s of options.series) {
    shapes.push({ kind: 'rect', x: lx, y: ly - 9, w: 12, h: 12, color: s.color });
    shapes.push({ kind: 'text', x: lx + 16, y: ly + 1, text: s.name, color: AXIS, anchor: 'start', size: 11 });
    lx += 16 + s.name.length * 7 + 20;
  }
  return { width, height, shapes };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderSvg(layout: ChartLayout): string {
  const body = layout.shapes.map((s) =>
    s.kind === 'rect'
      ? `  <rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" fill="${s.color}"/>`
      : `  <text x="${s.x.toFixed(1)}" y="${s.y.toFixed(1)}" font-family="${FONT_FAMILY}" font-size="${s.size}" fill="${s.color}" text-anchor="${s.anchor}">${escapeXml(s.text)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}">\n${body.join('\n')}\n</svg>\n`;
}
