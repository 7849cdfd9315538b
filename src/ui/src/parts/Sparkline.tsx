/** A small line of per-minute figures, newest on the right. */
export function Sparkline({ values, width = 160, height = 32, label }: { values: number[]; width?: number; height?: number; label: string }) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((value, i) => `${(i * step).toFixed(1)},${(height - 2 - (value / max) * (height - 4)).toFixed(1)}`).join(' ');
  const total = values.reduce((sum, n) => sum + n, 0);
  return (
    <svg className="sparkline" viewBox={`0 0 ${width} ${height}`} width="100%" style={{ maxWidth: width }} preserveAspectRatio="none" role="img" aria-label={`${label}: ${total} in ${values.length} minutes`}>
      <title>{`${label}: ${total} in the last ${values.length} minutes, at most ${max} a minute`}</title>
      <polyline points={points} fill="none" stroke="#2466d1" strokeWidth="1.5" />
    </svg>
  );
}
