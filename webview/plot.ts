/**
 * A small time-series plot on a canvas: the last `windowSeconds` of a few series, one
 * sample per second, redrawn only when a sample arrives. Colours come from the theme
 * (CSS variables read at draw time), so it follows light, dark and high-contrast themes.
 */
export interface SeriesSpec {
  label: string;
  /** A CSS colour or var(--…) expression resolved against the canvas. */
  colorVariable: string;
  unit: string;
}

export class TimePlot {
  private readonly values: number[][];
  private readonly context: CanvasRenderingContext2D;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly series: readonly SeriesSpec[],
    private readonly windowSeconds = 60,
  ) {
    this.values = series.map(() => []);
    this.context = canvas.getContext('2d')!;
  }

  push(sample: readonly number[]): void {
    sample.forEach((value, index) => {
      const values = this.values[index]!;
      values.push(Number.isFinite(value) ? value : 0);
      if (values.length > this.windowSeconds) values.shift();
    });
    this.draw();
  }

  latest(index: number): number {
    return this.values[index]?.at(-1) ?? 0;
  }

  draw(): void {
    const { canvas, context } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const style = getComputedStyle(canvas);
    context.clearRect(0, 0, width, height);
    const max = Math.max(1, ...this.values.flat()) * 1.15;
    context.strokeStyle = style.getPropertyValue('--vscode-editorWidget-border') || '#8884';
    context.lineWidth = 1;
    context.beginPath();
    for (const fraction of [0.5, 1]) {
      const y = Math.round(height - (height * fraction) / 1.15) + 0.5;
      context.moveTo(0, y);
      context.lineTo(width, y);
    }
    context.stroke();
    const step = width / Math.max(1, this.windowSeconds - 1);
    this.series.forEach((spec, index) => {
      const values = this.values[index]!;
      context.strokeStyle = style.getPropertyValue(spec.colorVariable).trim() || '#888';
      context.lineWidth = 1.5 * ratio;
      context.beginPath();
      values.forEach((value, i) => {
        const x = width - (values.length - 1 - i) * step;
        const y = height - (value / max) * height;
        if (i === 0) context.moveTo(x, y);
        else context.lineTo(x, y);
      });
      context.stroke();
    });
    context.fillStyle = style.getPropertyValue('--vscode-descriptionForeground') || '#888';
    context.font = `${11 * ratio}px ${style.getPropertyValue('--vscode-font-family') || 'sans-serif'}`;
    context.fillText(`${Math.round(max / 1.15)}`, 4 * ratio, 12 * ratio);
  }
}
