/**
 * The viewer's side of the inference engine. `WorkerEngine` (default) starts dist/ssclnet-inference.js as a module
 * Web Worker and talks to it by messages, so the page's main thread only extracts pixels and draws.
 * `MainThreadEngine` imports the same bundle into the page (configuration `inference: 'main'`), kept for the
 * scroll-latency comparison. Neither imports tfjs: the extension bundle stays free of it.
 */
import type {
  ClassifyRequest,
  CoreMethod,
  EngineInfo,
  ExplainRequest,
  ExplainResult,
  FileRequest,
  FileResult,
  InferenceCoreLike,
  InferenceEngine,
  LoadRequest,
  ModelInfo,
  PriorLookupRequest,
  PriorResults,
  ReportBuildRequest,
  ReportBuilt,
  ReportStoreRequest,
  ReportStoreResult,
  Result,
  WorkerRequest,
  WorkerResponse,
} from './types';

export interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  terminate(): void;
  onmessage: ((e: MessageEvent) => void) | null;
  onerror: ((e: ErrorEvent | Event) => void) | null;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** A copy of the slice's pixels that can be transferred (Cornerstone's cached buffer itself is never moved). */
function transferableSlice(request: ClassifyRequest): { request: ClassifyRequest; transfer: Transferable[] } {
  const data = request.slice.data;
  const copy = ArrayBuffer.isView(data)
    ? (data as unknown as { slice: () => ArrayBufferView }).slice()
    : Float32Array.from(data as ArrayLike<number>);
  return {
    request: { ...request, slice: { ...request.slice, data: copy as never } },
    transfer: [copy.buffer as ArrayBuffer],
  };
}

export class WorkerEngine implements InferenceEngine {
  readonly where = 'worker' as const;
  private worker: WorkerLike | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();

  constructor(
    private scriptUrl: string,
    private createWorker: (url: string) => WorkerLike = (url) =>
      new Worker(url, { type: 'module', name: 'ssclnet-inference' }) as unknown as WorkerLike,
  ) {}

  private ensureWorker(): WorkerLike {
    if (this.worker) return this.worker;
    const worker = this.createWorker(this.scriptUrl);
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data.result);
      else p.reject(new Error(e.data.error));
    };
    worker.onerror = (e) => {
      // The script failed to load or threw at top level: every waiting request fails with the reason, and the
      // next request starts a fresh worker.
      const message = (e as ErrorEvent).message || `the inference worker (${this.scriptUrl}) failed to start`;
      this.failAll(new Error(message));
      this.worker?.terminate();
      this.worker = null;
    };
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    pending.forEach((p) => p.reject(error));
  }

  private call<T>(method: CoreMethod, args: unknown, transfer: Transferable[] = []): Promise<T> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const message: WorkerRequest = { id, method, args };
      worker.postMessage(message, transfer);
    });
  }

  load(request: LoadRequest): Promise<ModelInfo> {
    return this.call('load', request);
  }

  verify(request: LoadRequest): Promise<{ version: string; bytes: number }> {
    return this.call('verify', request);
  }

  classify(request: ClassifyRequest): Promise<Result> {
    const { request: r, transfer } = transferableSlice(request);
    return this.call('classify', r, transfer);
  }

  classifyFile(request: FileRequest): Promise<FileResult> {
    const bytes = request.bytes.slice();
    return this.call('classifyFile', { ...request, bytes }, [bytes.buffer]);
  }

  info(): Promise<EngineInfo> {
    return this.call('info', undefined);
  }

  explain(request: ExplainRequest): Promise<ExplainResult> {
    const { request: r, transfer } = transferableSlice(request);
    return this.call('explain', { ...request, slice: r.slice }, transfer);
  }

  buildReport(request: ReportBuildRequest): Promise<ReportBuilt> {
    return this.call('buildReport', request);
  }

  storeReport(request: ReportStoreRequest): Promise<ReportStoreResult> {
    return this.call('storeReport', request);
  }

  findPriorResults(request: PriorLookupRequest): Promise<PriorResults> {
    return this.call('findPriorResults', request);
  }

  dispose(): void {
    this.failAll(new Error('the inference engine was stopped'));
    this.worker?.terminate();
    this.worker = null;
  }
}

export class MainThreadEngine implements InferenceEngine {
  readonly where = 'main' as const;
  private core: Promise<InferenceCoreLike> | null = null;

  constructor(
    private scriptUrl: string,
    private importModule: (url: string) => Promise<{ createInferenceCore: () => InferenceCoreLike }> = (url) =>
      import(/* webpackIgnore: true */ url),
  ) {}

  private get(): Promise<InferenceCoreLike> {
    if (!this.core) {
      this.core = this.importModule(this.scriptUrl).then((m) => m.createInferenceCore());
      this.core.catch(() => (this.core = null));
    }
    return this.core;
  }

  async load(request: LoadRequest): Promise<ModelInfo> {
    return (await this.get()).load(request);
  }

  async verify(request: LoadRequest): Promise<{ version: string; bytes: number }> {
    return (await this.get()).verify(request);
  }

  async classify(request: ClassifyRequest): Promise<Result> {
    return (await this.get()).classify(request);
  }

  async classifyFile(request: FileRequest): Promise<FileResult> {
    return (await this.get()).classifyFile(request);
  }

  async info(): Promise<EngineInfo> {
    return (await this.get()).info();
  }

  async explain(request: ExplainRequest): Promise<ExplainResult> {
    const core = await this.get();
    if (!core.explain) throw new Error('this inference bundle has no explain');
    return core.explain(request);
  }

  async buildReport(request: ReportBuildRequest): Promise<ReportBuilt> {
    const core = await this.get();
    if (!core.buildReport) throw new Error('this inference bundle has no buildReport');
    return core.buildReport(request);
  }

  async storeReport(request: ReportStoreRequest): Promise<ReportStoreResult> {
    const core = await this.get();
    if (!core.storeReport) throw new Error('this inference bundle has no storeReport');
    return core.storeReport(request);
  }

  async findPriorResults(request: PriorLookupRequest): Promise<PriorResults> {
    const core = await this.get();
    if (!core.findPriorResults) throw new Error('this inference bundle has no findPriorResults');
    return core.findPriorResults(request);
  }

  dispose(): void {
    this.core = null;
  }
}

/** The engine the configuration asks for. */
export function createEngine(config: { inference: 'worker' | 'main'; inferenceScriptUrl: string }): InferenceEngine {
  return config.inference === 'main'
    ? new MainThreadEngine(config.inferenceScriptUrl)
    : new WorkerEngine(config.inferenceScriptUrl);
}
