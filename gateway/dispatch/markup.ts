/**
 * Text from kiosks and from provisioning (names, addresses, outcomes) inside the markup an EIDO
 * carries: XML (PIDF-LO location by value) and HTML5 (notes). JSON string fields need nothing of
 * this: JSON.stringify escapes quotes and control characters itself, and carries the text intact.
 *
 * XML 1.0 and HTML5 text cannot carry C0 control characters other than tab, newline and carriage
 * return (not even as character references), nor DEL and lone surrogates: each becomes U+FFFD,
 * visibly, instead of making the document malformed. The same text, unchanged, is always in a plain
 * JSON field beside the markup (locationDescriptionText, the alarm's csaaAlarmInformation).
 */

// eslint-disable-next-line no-control-regex -- matching the control characters is the point
const NOT_IN_MARKUP = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text for an XML or HTML5 text node or attribute value (quotes escaped too). */
export function escapeMarkup(text: string): string {
  return text.replace(NOT_IN_MARKUP, "\uFFFD").replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** The text escapeMarkup(text) reads back as (what a receiver's parser sees). */
export function markupReadsAs(text: string): string {
  return text.replace(NOT_IN_MARKUP, "\uFFFD");
}
