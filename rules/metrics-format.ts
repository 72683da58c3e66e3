// The one serialisation of a metrics JSON. The demo's evaluations and `sbuild materialize`
// both write through it, so a metrics file materialized from the results table is
// byte-identical to the one its evaluation wrote (and stays fresh). Pure: no imports.

/** SARDet's classes, in the order of its category ids. */
export const SARDET_CLASSES = ['ship', 'aircraft', 'car', 'tank', 'bridge', 'harbor'];

/** A metrics JSON as the evaluations write it (keys in this order). */
export interface Metrics {
  detector: string;
  split: string;
  images: number;
  AP: number;
  AP50: number;
  AP75: number;
  per_class_AP: Record<string, number | null>;
}

export function formatMetrics(m: Metrics, classes: string[] = SARDET_CLASSES): string {
  const perClass: Record<string, number | null> = {};
  for (const c of classes) perClass[c] = m.per_class_AP[c] ?? null;
  const ordered = { detector: m.detector, split: m.split, images: m.images, AP: m.AP, AP50: m.AP50, AP75: m.AP75, per_class_AP: perClass };
  return JSON.stringify(ordered, null, 2) + '\n';
}
