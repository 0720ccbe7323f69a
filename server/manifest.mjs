// The embedded studies' dicomjson manifest with absolute instance URLs for the requesting origin.
import fs from 'node:fs';

/** Loads demo/sample-study/study.json (instance URLs relative to its folder) once; throws with a clear message. */
export function loadManifestTemplate(file) {
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the sample study manifest ${file}: ${err.message}`);
  }
  if (!Array.isArray(data?.studies)) throw new Error(`${file}: not a dicomjson manifest (no "studies" array)`);
  return data;
}

/** `dicomweb:` + absolute URL is how OHIF's dicomjson source marks a whole-file (WADO-URI style) instance. */
export function manifestForOrigin(template, origin, mountPath) {
  const base = `${origin}${mountPath.replace(/\/$/, '')}/`;
  return {
    studies: template.studies.map((study) => ({
      ...study,
      series: study.series.map((series) => ({
        ...series,
        instances: series.instances.map((inst) => ({ ...inst, url: `dicomweb:${new URL(inst.url, base).href}` })),
      })),
    })),
  };
}
