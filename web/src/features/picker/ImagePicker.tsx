// Ways to choose an image: the file picker, drag-and-drop, paste (anywhere on the page), the
// camera, and the gallery of sample photos.
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { Icon } from '../../components/Icon';
import { fetchSamples, sampleUrl, type Sample } from '../../lib/samples';

export interface ChosenImage {
  blob: Blob;
  name: string;
  /** Changes with every choice, also when the same file is chosen again. */
  id: number;
}

let nextId = 1;
export function chosen(blob: Blob, name: string): ChosenImage {
  return { blob, name, id: nextId++ };
}

function firstImageFile(list: FileList | DataTransferItemList | null | undefined): File | null {
  if (!list) return null;
  for (const item of Array.from(list as ArrayLike<File | DataTransferItem>)) {
    const file = item instanceof File ? item : item.kind === 'file' ? item.getAsFile() : null;
    if (file && (file.type.startsWith('image/') || file.type === '')) return file;
  }
  return null;
}

export function ImagePicker(props: {
  onImage: (img: ChosenImage) => void;
  onCamera: () => void;
  onError: (message: string) => void;
  autoSample: number | null;
}) {
  const { onImage, onCamera, onError, autoSample } = props;
  const input = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [loadingSample, setLoadingSample] = useState<string | null>(null);
  const autoDone = useRef(false);

  useEffect(() => {
    fetchSamples().then(setSamples);
  }, []);

  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const file = firstImageFile(e.clipboardData?.items);
      if (file) {
        e.preventDefault();
        onImage(chosen(file, file.name || 'pasted image'));
      }
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [onImage]);

  const pickSample = async (s: Sample) => {
    setLoadingSample(s.file);
    try {
      const res = await fetch(sampleUrl(s));
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      onImage(chosen(await res.blob(), s.name));
    } catch (err) {
      onError(`The sample photo could not be loaded (${err instanceof Error ? err.message : String(err)}).`);
    } finally {
      setLoadingSample(null);
    }
  };

  useEffect(() => {
    if (autoSample === null || autoDone.current) return;
    const s = samples[autoSample];
    if (s) {
      autoDone.current = true;
      void pickSample(s);
    }
    // pickSample only reads props and state setters; the auto pick runs once.
  }, [samples, autoSample]);

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragging(false);
    const file = firstImageFile(e.dataTransfer.files) ?? firstImageFile(e.dataTransfer.items);
    if (file) onImage(chosen(file, file.name));
    else onError('That was not an image file.');
  };

  return (
    <section className="card picker" aria-labelledby="picker-title">
      <h2 id="picker-title">Choose an image</h2>
      <div
        className={dragging ? 'dropzone dragging' : 'dropzone'}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <div className="picker-buttons">
          <button type="button" className="btn btn-primary" onClick={() => input.current?.click()}>
            <Icon name="photo" /> Choose photo
          </button>
          <button type="button" className="btn" onClick={onCamera} data-testid="open-camera">
            <Icon name="camera" /> Camera
          </button>
        </div>
        <p className="hint">or drop an image here, or paste one</p>
        <input
          ref={input}
          type="file"
          accept="image/*"
          hidden
          aria-label="Image file"
          data-testid="file-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) onImage(chosen(file, file.name));
            e.target.value = '';
          }}
        />
      </div>
      {samples.length > 0 ? (
        <div className="gallery-wrap">
          <h3 className="gallery-title">Sample food photos</h3>
          <ul className="gallery" aria-label="Sample photos">
            {samples.map((s, i) => (
              <li key={s.file}>
                <button
                  type="button"
                  className="thumb"
                  data-testid={`sample-${i}`}
                  aria-label={`Classify sample photo ${s.name}`}
                  aria-busy={loadingSample === s.file}
                  onClick={() => void pickSample(s)}
                >
                  <img src={sampleUrl(s)} alt="" loading="lazy" width={96} height={64} />
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}
