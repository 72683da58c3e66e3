// SARDet's six classes, in the order of their COCO category ids 1..6.
export const CLASSES = ['ship', 'aircraft', 'car', 'tank', 'bridge', 'harbor'] as const;
export type ClassName = (typeof CLASSES)[number];
