// Injected into the CommonJS build of the Node API: what `import.meta.url` is in the ESM build.
export const __xtalk_module_url = require('node:url').pathToFileURL(__filename).href;
