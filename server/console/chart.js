// A flow type's state chart (the Graphviz SVG of docs/machines/, through GET /operator/charts/:type),
// inlined so the current state's node can be marked. Graphviz gives every state a
// `<g class="node"><title>mint.minting.submitting</title>…` and every compound state a
// `<g class="cluster"><title>cluster_mint.minting</title>…`.

import { getText } from './api.js';

// The page allows one HTML sink, through this named policy, and only for the chart our own server sends.
const policy = window.trustedTypes?.createPolicy('console-svg', { createHTML: (svgText) => svgText });
const cache = new Map();

async function chartSource(flowType) {
  if (!cache.has(flowType)) {
    const loading = getText(`/operator/charts/${encodeURIComponent(flowType)}`);
    cache.set(flowType, loading);
    loading.catch(() => cache.delete(flowType));
  }
  return cache.get(flowType);
}

/** A fresh `<svg>` element of the chart, sized by its container. */
export async function loadChart(flowType) {
  const source = await chartSource(flowType);
  const doc = new DOMParser().parseFromString(policy ? policy.createHTML(source) : source, 'image/svg+xml');
  const svg = doc.documentElement;
  if (svg.nodeName !== 'svg' || doc.querySelector('parsererror')) throw new Error(`The ${flowType} chart could not be read`);
  // Only drawing is wanted from the file: no script, no embedded HTML, no links.
  for (const el of svg.querySelectorAll('script, foreignObject')) el.remove();
  for (const el of svg.querySelectorAll('a')) el.replaceWith(...el.childNodes);
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.setAttribute('class', 'chart-svg');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${flowType} state chart`);
  return document.importNode(svg, true);
}

/** Marks the node of `state` (and the clusters of its parent states); returns the node, or null if the chart has none. */
export function highlightState(svg, flowType, state) {
  const wanted = `${flowType}.${state}`;
  const parents = new Set();
  const parts = state.split('.');
  for (let i = 1; i < parts.length; i++) parents.add(`cluster_${flowType}.${parts.slice(0, i).join('.')}`);
  let found = null;
  for (const node of svg.querySelectorAll('g.node')) {
    const current = node.querySelector('title')?.textContent === wanted;
    node.classList.toggle('current', current);
    if (current) found = node;
  }
  for (const cluster of svg.querySelectorAll('g.cluster')) {
    cluster.classList.toggle('current-parent', parents.has(cluster.querySelector('title')?.textContent));
  }
  return found;
}
