/** @module client/strip/opc — what makes a zip an Office Open XML (OPC) package, for detect.ts and ooxml.ts. */

/** True for the entry names of an OPC package (ECMA-376 part 2): docx, xlsx, pptx and their kin. */
export function isOpcPackage(names: readonly string[]): boolean {
  return names.includes('[Content_Types].xml') && names.includes('_rels/.rels');
}
