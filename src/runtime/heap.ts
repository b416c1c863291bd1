import { MemoryError } from "../errors.js";

const PAGE = 65536;
const ALIGN = 16;
// wasm32 addresses stop at 4 GiB; keep one page below so that no offset plus size wraps.
const MAX_PAGES = 65535;
// Address 0 stays unused: kernels read a zero pointer as "none".
const HEAP_START = 64;

interface Block {
  start: number;
  size: number;
}

/**
 * A first-fit allocator over one WebAssembly.Memory, 16-byte aligned, with coalescing. Growth
 * detaches every view of a non-shared memory, so views are handed out fresh from f32/i32/u8
 * and must never be kept across an allocation.
 */
export class Heap {
  readonly memory: WebAssembly.Memory;
  private free: Block[] = [];
  private used = new Map<number, number>();
  private inUse = 0;
  private f32View: Float32Array;
  private i32View: Int32Array;
  private u8View: Uint8Array;

  /** Bytes the memory may grow to. */
  readonly limitBytes: number;

  /**
   * `shared` makes a memory that worker threads can use too; `maxBytes` caps what the memory may
   * grow to (wasm32's 4 GiB at most).
   */
  constructor(initialPages = 16, options: { shared?: boolean; maxBytes?: number } = {}) {
    this.limitBytes = Math.min(options.maxBytes ?? MAX_PAGES * PAGE, MAX_PAGES * PAGE);
    initialPages = Math.min(initialPages, Math.floor(this.limitBytes / PAGE));
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: options.shared ?? false });
    this.free.push({ start: HEAP_START, size: initialPages * PAGE - HEAP_START });
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
    this.u8View = new Uint8Array(this.memory.buffer);
  }

  /** Bytes held by live allocations. */
  get bytesInUse(): number {
    return this.inUse;
  }

  /** Bytes of the memory itself (what the host has reserved). */
  get bytesReserved(): number {
    return this.memory.buffer.byteLength;
  }

  get f32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer) this.refreshViews();
    return this.f32View;
  }

  get i32(): Int32Array {
    if (this.i32View.buffer !== this.memory.buffer) this.refreshViews();
    return this.i32View;
  }

  get u8(): Uint8Array {
    if (this.u8View.buffer !== this.memory.buffer) this.refreshViews();
    return this.u8View;
  }

  private refreshViews(): void {
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
    this.u8View = new Uint8Array(this.memory.buffer);
  }

  /** Returns the byte offset of `bytes` fresh bytes (contents unspecified), 16-byte aligned. */
  alloc(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new MemoryError(`cannot allocate ${bytes} bytes: expected a non-negative integer`);
    }
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let index = this.free.findIndex((b) => b.size >= size);
    if (index < 0) index = this.grow(size);
    const block = this.free[index];
    const start = block.start;
    if (block.size === size) this.free.splice(index, 1);
    else {
      block.start += size;
      block.size -= size;
    }
    this.used.set(start, size);
    this.inUse += size;
    return start;
  }

  /** The size of a live allocation (0 for 0). */
  sizeOf(ptr: number): number {
    return ptr === 0 ? 0 : (this.used.get(ptr) ?? 0);
  }

  /** Releases an allocation made by alloc; freeing an unknown offset is a bug in the caller. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new MemoryError(`release of ${ptr}, which is not an allocation`);
    this.used.delete(ptr);
    this.inUse -= size;
    let i = 0;
    while (i < this.free.length && this.free[i].start < ptr) i++;
    this.free.splice(i, 0, { start: ptr, size });
    const next = this.free[i + 1];
    if (next && ptr + size === next.start) {
      this.free[i].size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === ptr) {
      prev.size += this.free[i].size;
      this.free.splice(i, 1);
    }
  }

  // Grows so that the free block at the end of memory holds `size`; returns that block's index.
  private grow(size: number): number {
    const end = this.memory.buffer.byteLength;
    const last = this.free[this.free.length - 1];
    const tail = last && last.start + last.size === end ? last.size : 0;
    const pages = this.memory.buffer.byteLength / PAGE;
    const needed = Math.ceil((size - tail) / PAGE);
    // Grow by at least half again so that a run of allocations does not grow page by page.
    const limitPages = Math.floor(this.limitBytes / PAGE);
    const want = Math.min(Math.max(needed, Math.ceil(pages / 2)), limitPages - pages);
    if (needed > limitPages - pages) {
      throw new MemoryError(
        `out of memory: ${size} bytes were asked for with ${this.inUse} in use, and the memory may not grow past ${this.limitBytes} bytes` +
          (this.limitBytes < MAX_PAGES * PAGE ? " (init's maxMemoryBytes)" : " (wasm32's limit)"),
      );
    }
    try {
      this.memory.grow(want);
    } catch {
      try {
        this.memory.grow(needed);
      } catch {
        throw new MemoryError(`out of memory: the host refused to grow memory by ${needed * PAGE} bytes for an allocation of ${size} bytes`);
      }
    }
    const newEnd = this.memory.buffer.byteLength;
    if (tail > 0) {
      last.size += newEnd - end;
      return this.free.length - 1;
    }
    this.free.push({ start: end, size: newEnd - end });
    return this.free.length - 1;
  }
}

/**
 * A copy of a view of the heap in an array of its own, for results handed to the caller. Made by
 * the typed-array constructor, not `view.slice()`: V8 builds a slice in a zero-filled buffer
 * that the copy then overwrites, a second pass over outputs of megabytes (README, the ONNX
 * path's fresh output arrays).
 */
export function copyOut<T extends Float32Array | Int32Array>(view: T): T {
  return (view instanceof Float32Array ? new Float32Array(view) : new Int32Array(view)) as T;
}
