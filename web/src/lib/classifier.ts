// One interface for both sides, so the UI does not care where an image is classified.
import type { MorselModel } from '@morsel/wasm';
import { classifyInBrowser } from './browser-engine';
import { classifyOnServer } from './server-api';
import type { Side, SideResult } from './types';

export interface Classifier {
  readonly side: Side;
  classify(image: Blob, topK: number): Promise<SideResult>;
}

export function serverClassifier(model: string | null): Classifier {
  return { side: 'server', classify: (image, topK) => classifyOnServer(image, { model, topK }) };
}

export function browserClassifier(model: MorselModel): Classifier {
  return { side: 'browser', classify: (image, topK) => classifyInBrowser(model, image, topK) };
}
