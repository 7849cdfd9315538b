/**
 * An array's items as a grid of cells coloured by state, drawn into one canvas's pixels: 100,000
 * items cost one ImageData write, not 100,000 DOM nodes, so the page stays responsive.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { STATE_COLORS, STATES, UNMADE_COLOR } from '../states.js';

/** Aim for a grid about this tall; cells shrink to fit, but never below MIN_CELL pixels. */
const TARGET_HEIGHT = 420;
const MIN_CELL = 2;
const MAX_CELL = 18;

/** Colours as little-endian RGBA words, indexed by the item letter ('0'…'8', '-' last). */
const PALETTE = [...STATES.map((state) => STATE_COLORS[state]), UNMADE_COLOR].map(rgbaWord);

function rgbaWord(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  const r = (n >> 16) & 255;
  const g = (n >> 8) & 255;
  const b = n & 255;
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** '0'…'8' is the state's place in STATES; anything else ('-') is an item not made yet. */
export function letterIndex(code: number): number {
  const index = code - 48;
  return index >= 0 && index < STATES.length ? index : STATES.length;
}

export function stateOfLetter(letter: string): string {
  return STATES[letterIndex(letter.charCodeAt(0))] ?? 'not started';
}

export function ItemGrid({ states, onPick }: { states: string; onPick: (idx: number) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [hover, setHover] = useState<{ idx: number; x: number; y: number }>();
  const count = states.length;

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.contentRect.width)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const layout = useMemo(() => {
    if (width <= 0 || count === 0) return undefined;
    const ideal = Math.floor(Math.sqrt((width * TARGET_HEIGHT) / count));
    const cell = Math.max(MIN_CELL, Math.min(MAX_CELL, ideal));
    const columns = Math.max(1, Math.floor(width / cell));
    return { cell, columns, rows: Math.ceil(count / columns) };
  }, [width, count]);

  useEffect(() => {
    const element = canvas.current;
    if (!element || !layout) return;
    const { cell, columns, rows } = layout;
    element.width = columns * cell;
    element.height = rows * cell;
    const context = element.getContext('2d');
    if (!context) return;
    const image = context.createImageData(element.width, element.height);
    const pixels = new Uint32Array(image.data.buffer);
    const rowPixels = element.width;
    // Cells of 4 px or more keep a 1 px gap so neighbours stay apart.
    const fill = cell >= 4 ? cell - 1 : cell;
    for (let idx = 0; idx < count; idx += 1) {
      const color = PALETTE[letterIndex(states.charCodeAt(idx))];
      const left = (idx % columns) * cell;
      const top = Math.floor(idx / columns) * cell;
      for (let y = 0; y < fill; y += 1) {
        const start = (top + y) * rowPixels + left;
        pixels.fill(color, start, start + fill);
      }
    }
    context.putImageData(image, 0, 0);
    // For bench/ui-array.ts: when the grid was first on screen, measured by the page itself.
    performance.mark('barge:item-grid-drawn', { detail: { items: count } });
  }, [layout, states, count]);

  const itemAt = (event: React.MouseEvent<HTMLCanvasElement>): number | undefined => {
    if (!layout) return undefined;
    const rect = event.currentTarget.getBoundingClientRect();
    const column = Math.floor((event.clientX - rect.left) / layout.cell);
    const row = Math.floor((event.clientY - rect.top) / layout.cell);
    const idx = row * layout.columns + column;
    return column < layout.columns && idx >= 0 && idx < count ? idx : undefined;
  };

  return (
    <div className="item-grid" ref={box}>
      <canvas
        ref={canvas}
        aria-label={`${count} items coloured by state`}
        data-items={count}
        onMouseMove={(event) => {
          const idx = itemAt(event);
          setHover(idx === undefined ? undefined : { idx, x: event.nativeEvent.offsetX, y: event.nativeEvent.offsetY });
        }}
        onMouseLeave={() => setHover(undefined)}
        onClick={(event) => {
          const idx = itemAt(event);
          if (idx !== undefined) onPick(idx);
        }}
      />
      {hover && (
        <div className="tip" style={{ left: hover.x + 12, top: hover.y + 12 }}>
          item {hover.idx}: {stateOfLetter(states[hover.idx] ?? '-')}
        </div>
      )}
    </div>
  );
}
