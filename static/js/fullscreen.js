/**
 * Full screen for the whole stage, so the danmaku overlay comes along (a
 * <video>'s own full-screen button would leave it behind).
 */
import { setText } from './dom.js';

export function bindFullscreen(button, stage) {
  if (!button || !stage) return;
  if (!document.fullscreenEnabled || typeof stage.requestFullscreen !== 'function') {
    button.hidden = true;
    return;
  }
  const render = () => {
    const on = document.fullscreenElement === stage;
    setText(button, on ? 'Exit full screen' : 'Full screen');
    stage.classList.toggle('is-fullscreen', on);
  };
  button.addEventListener('click', () => {
    if (document.fullscreenElement === stage) document.exitFullscreen().catch(() => {});
    else stage.requestFullscreen().catch(() => {});
  });
  stage.addEventListener('dblclick', (event) => {
    if (event.target.closest('video')) return; // the video's own controls take double clicks
    button.click();
  });
  document.addEventListener('fullscreenchange', render);
  render();
}
