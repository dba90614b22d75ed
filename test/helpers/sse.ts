/** Reads Server-Sent Events text back into frames (the WHATWG parsing rules the tests need). */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  /** Comment lines (`: ...`). */
  comments: string[];
}

/** The complete frames in `text` (a trailing partial frame is left out). */
export function parseSse(text: string): SseFrame[] {
  const blocks = text.split('\n\n');
  blocks.pop();
  return blocks.map((block) => {
    const f: SseFrame = { comments: [] };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        f.comments.push(line.slice(1).trim());
        continue;
      }
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'data') f.data = f.data === undefined ? value : `${f.data}\n${value}`;
      else if (field === 'id' || field === 'event' || field === 'retry') f[field] = value;
    }
    return f;
  });
}
