/**
 * Third-party modules copied into static/vendor by scripts/vendor.sh. Loaded
 * dynamically so that a checkout where the script has not run still works:
 * the comment log carries on and the console says what is missing.
 */
export async function loadDanmaku() {
  try {
    const module = await import('../vendor/danmaku/danmaku.dom.min.js');
    return module.default;
  } catch (error) {
    console.error('danmaku renderer missing: run scripts/vendor.sh (flying comments are off)', error);
    return null;
  }
}
