/** Classification metrics from a confusion matrix (rows = true class, columns = predicted class). */

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Metrics {
  classes: string[];
  n: number;
  accuracy: number;
  /** Mean F1 over the classes present in the data (support > 0); absent classes are named in `absent_classes`. */
  macro_f1: number;
  /** Classes of the model with no sample in the data: left out of macro_f1 (their F1 is undefined, not 0). */
  absent_classes: string[];
  per_class: ClassMetrics[];
  confusion: number[][];
}

export function confusionMatrix(classes: string[], truth: number[], predicted: number[]): number[][] {
  const m = classes.map(() => classes.map(() => 0));
  truth.forEach((t, i) => m[t][predicted[i]]++);
  return m;
}

/**
 * Precision/recall/F1 per class (0 where undefined, as scikit-learn's zero_division=0), accuracy, and macro-F1 over
 * the classes present in the data (scikit-learn's f1_score(average='macro', labels=<present classes>)).
 */
export function metricsFromConfusion(classes: string[], m: number[][]): Metrics {
  const n = m.flat().reduce((a, b) => a + b, 0);
  const per_class = classes.map((label, k) => {
    const tp = m[k][k];
    const predicted = m.reduce((a, row) => a + row[k], 0);
    const support = m[k].reduce((a, b) => a + b, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
  const correct = classes.reduce((a, _, k) => a + m[k][k], 0);
  const present = per_class.filter((c) => c.support > 0);
  return {
    classes,
    n,
    accuracy: n ? correct / n : 0,
    macro_f1: present.length ? present.reduce((a, c) => a + c.f1, 0) / present.length : 0,
    absent_classes: per_class.filter((c) => c.support === 0).map((c) => c.label),
    per_class,
    confusion: m,
  };
}
