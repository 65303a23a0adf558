/** The end of a long output (a build log, a provisioning step), kept bounded. No `vscode` import. */

/** Keeps the last `max` characters of a stream and counts what it dropped. */
export class TailBuffer {
  private text = '';
  private dropped = 0;
  constructor(private readonly max: number) {}
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.max * 2) this.trim();
  }
  private trim(): void {
    if (this.text.length <= this.max) return;
    this.dropped += this.text.length - this.max;
    this.text = this.text.slice(this.text.length - this.max);
  }
  toString(): string {
    this.trim();
    return this.dropped ? `[… ${this.dropped} characters of output dropped …]\n${this.text}` : this.text;
  }
}
