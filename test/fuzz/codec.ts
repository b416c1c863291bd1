// JSON for fuzz inputs, which hold bigints, NaN, ±Infinity, -0 and objects without a prototype
// (fast-check makes some), all of which plain JSON drops.
export function encodeValue(v: unknown): string {
  return JSON.stringify(v, (_, x) => {
    if (typeof x === "bigint") return { $big: x.toString() };
    if (typeof x === "number" && (!Number.isFinite(x) || Object.is(x, -0))) return { $num: Object.is(x, -0) ? "-0" : String(x) };
    if (x !== null && typeof x === "object" && !Array.isArray(x) && Object.getPrototypeOf(x) === null) return { $nullproto: { ...x } };
    return x;
  });
}

export function decodeValue(s: string): unknown {
  return JSON.parse(s, (_, x) => {
    if (x && typeof x === "object" && !Array.isArray(x)) {
      if (typeof x.$big === "string") return BigInt(x.$big);
      if (typeof x.$num === "string") return x.$num === "-0" ? -0 : Number(x.$num);
      if (x.$nullproto) return Object.assign(Object.create(null), x.$nullproto);
    }
    return x;
  });
}
