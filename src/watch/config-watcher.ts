/**
 * Watches the config directory and says "something may have changed", debounced. It does not try to tell
 * which file changed: a kubelet projected-volume update swaps the `..data` symlink (the visible names are
 * symlinks through it and never change themselves), so any event in the directory triggers one reload of
 * the whole input, and the apply pipeline decides whether the rendered result differs from what runs.
 * A periodic resync covers what inotify cannot see (the directory deleted and re-created, a missed event).
 */
import { EventEmitter } from 'node:events';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';

export interface ConfigWatcherOptions {
  dir: string;
  debounceMs: number;
  /** Reload this often even without events (0 = never). */
  resyncMs: number;
}

interface Events {
  /** `periodic`: from the resync timer, not from an event (the receiver may skip work when nothing changed). */
  change: [reason: string, periodic: boolean];
  error: [error: Error];
}

export class ConfigWatcher extends EventEmitter<Events> {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private firstEvent = '';

  constructor(private readonly opts: ConfigWatcherOptions) {
    super();
  }

  async start(): Promise<void> {
    this.watcher = watch(this.opts.dir, {
      ignoreInitial: true,
      followSymlinks: false,
      // the visible files, ..data and the timestamped directory kubelet writes into
      depth: 1,
      persistent: true,
      // chokidar's atomic-write detection holds unlink events back 100 ms; every event is only a poke here.
      atomic: false,
    });
    this.watcher.on('all', (event, path) => this.poke(`${event} ${path}`));
    this.watcher.on('error', (e) => this.emit('error', e instanceof Error ? e : new Error(String(e))));
    await new Promise<void>((resolve) => this.watcher?.once('ready', () => resolve()));
    if (this.opts.resyncMs > 0) {
      this.resync = setInterval(() => this.emit('change', 'periodic resync', true), this.opts.resyncMs);
      this.resync.unref();
    }
  }

  /** Restarts the debounce window; one 'change' fires after `debounceMs` of quiet. */
  poke(reason: string): void {
    if (!this.timer) this.firstEvent = reason;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emit('change', this.firstEvent, false);
    }, this.opts.debounceMs);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.resync);
    await this.watcher?.close();
  }
}
