/**
 * Just enough of Kubernetes' protobuf encoding to read what typed clients (kubectl auth can-i)
 * send: the "k8s\0" envelope (runtime.Unknown: typeMeta = 1, raw = 2) and length-delimited
 * fields of a message by number.
 */

/** The length-delimited fields of a protobuf message, by field number (varints and fixed skipped). */
export function fields(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (let n = 0; n < 10 && i < buf.length; n++) {
      const b = buf[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
      shift += 7;
    }
    return v;
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    const field = Math.floor(key / 8);
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint();
      out.set(field, [...(out.get(field) ?? []), buf.subarray(i, i + len)]);
      i += len;
    } else break;
  }
  return out;
}

/** The object inside a protobuf request body, or undefined when the body is not one. */
export function unwrap(body: Buffer): Buffer | undefined {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0') return undefined;
  return fields(body.subarray(4)).get(2)?.[0];
}

/** SelfSubjectAccessReview.spec.resourceAttributes as strings (fields 1..7 of ResourceAttributes). */
export function accessReviewAttributes(raw: Buffer): Record<string, string> {
  const spec = fields(raw).get(2)?.[0];
  const attrs = spec ? fields(spec).get(1)?.[0] : undefined;
  if (!attrs) return {};
  const f = fields(attrs);
  const names = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
  return Object.fromEntries(names.map((n, i) => [n, f.get(i + 1)?.[0]?.toString('utf8') ?? '']).filter(([, v]) => v !== ''));
}
