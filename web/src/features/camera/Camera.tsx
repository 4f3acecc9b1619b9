// Live camera preview (getUserMedia) with a capture button; the back camera on phones, any
// camera on laptops. A capture is a JPEG Blob, classified like any chosen file.
import { useEffect, useRef, useState } from 'react';
import { ErrorBox } from '../../components/ErrorBox';
import { toAppError, type AppError } from '../../lib/errors';

type Facing = 'environment' | 'user';

export function Camera(props: { onCapture: (blob: Blob) => void; onClose: () => void }) {
  const { onCapture, onClose } = props;
  const video = useRef<HTMLVideoElement>(null);
  const [facing, setFacing] = useState<Facing>('environment');
  const [error, setError] = useState<AppError | null>(null);
  const [ready, setReady] = useState(false);
  const [cameras, setCameras] = useState(0);

  useEffect(() => {
    let stream: MediaStream | null = null;
    let stopped = false;
    setReady(false);
    setError(null);
    (async () => {
      try {
        if (!navigator.mediaDevices?.getUserMedia) throw new TypeError('getUserMedia is not available');
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: { ideal: facing }, width: { ideal: 1280 }, height: { ideal: 960 } },
          audio: false,
        });
        if (stopped) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        const v = video.current;
        if (v) {
          v.srcObject = stream;
          await v.play().catch(() => undefined);
        }
        const devices = await navigator.mediaDevices.enumerateDevices();
        setCameras(devices.filter((d) => d.kind === 'videoinput').length);
      } catch (err) {
        if (!stopped) setError(toAppError(err, 'camera'));
      }
    })();
    return () => {
      stopped = true;
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [facing]);

  const capture = () => {
    const v = video.current;
    if (!v || !v.videoWidth) return;
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext('2d')?.drawImage(v, 0, 0);
    canvas.toBlob((blob) => blob && onCapture(blob), 'image/jpeg', 0.92);
  };

  return (
    <section className="card camera" aria-label="Camera">
      <div className="camera-view">
        <video
          ref={video}
          playsInline
          muted
          autoPlay
          aria-label="Camera preview"
          data-testid="camera-video"
          onLoadedData={() => setReady(true)}
        />
        {!ready && !error ? <p className="camera-wait">Starting the camera…</p> : null}
      </div>
      {error ? <ErrorBox error={error} testId="camera-error" /> : null}
      <div className="camera-controls">
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
        <button
          type="button"
          className="shutter"
          onClick={capture}
          disabled={!ready}
          aria-label="Take photo and classify"
          data-testid="capture"
        />
        <button
          type="button"
          className="btn"
          onClick={() => setFacing((f) => (f === 'environment' ? 'user' : 'environment'))}
          disabled={cameras < 2}
          aria-label="Switch camera"
        >
          Flip
        </button>
      </div>
    </section>
  );
}
