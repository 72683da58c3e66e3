// Pictures: grayscale to RGB, box outlines, and a heat-map overlay of the test statistic.
import type { Gray } from './io.js';

export type Rgb = readonly [number, number, number];

export function toRgb(img: Gray): Uint8Array {
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.data.length; i++) {
    const v = Math.min(255, Math.max(0, Math.round(img.data[i]!)));
    out[3 * i] = v;
    out[3 * i + 1] = v;
    out[3 * i + 2] = v;
  }
  return out;
}

/** Draws the outline of box [x, y, w, h] (pixels x..x+w-1), clipped to the image. */
export function drawBox(rgb: Uint8Array, width: number, height: number, box: readonly number[], color: Rgb): void {
  const x0 = Math.round(box[0]!);
  const y0 = Math.round(box[1]!);
  const x1 = Math.round(box[0]! + box[2]!) - 1;
  const y1 = Math.round(box[1]! + box[3]!) - 1;
  const put = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = 3 * (y * width + x);
    rgb[i] = color[0];
    rgb[i + 1] = color[1];
    rgb[i + 2] = color[2];
  };
  for (let x = x0; x <= x1; x++) {
    put(x, y0);
    put(x, y1);
  }
  for (let y = y0; y <= y1; y++) {
    put(x0, y);
    put(x1, y);
  }
}

/** A jet-like colour for h in [0, 1]: blue, cyan, yellow, red. */
function jet(h: number): Rgb {
  const c = (x: number): number => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * h - 3)), c(1.5 - Math.abs(4 * h - 2)), c(1.5 - Math.abs(4 * h - 1))];
}

/**
 * Blends the statistic map over the image: T at or below 1 (clutter level) leaves the image
 * nearly untouched, T at twice the detection threshold and above is full red.
 */
export function heatOverlay(img: Gray, T: Float32Array, alpha: number): Uint8Array {
  const out = toRgb(img);
  const top = Math.max(1.5, 2 * alpha);
  for (let i = 0; i < T.length; i++) {
    const h = Math.min(1, Math.max(0, (T[i]! - 1) / (top - 1)));
    const a = 0.15 + 0.6 * Math.sqrt(h);
    const [r, g, b] = jet(h);
    out[3 * i] = Math.round(out[3 * i]! * (1 - a) + r * a);
    out[3 * i + 1] = Math.round(out[3 * i + 1]! * (1 - a) + g * a);
    out[3 * i + 2] = Math.round(out[3 * i + 2]! * (1 - a) + b * a);
  }
  return out;
}
