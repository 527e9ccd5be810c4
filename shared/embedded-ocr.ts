/**
 * What the engine and the UI both know of the embedded OCR engine's choices: its models
 * (the lane setting `model`) and the languages each can read (the setting `language`).
 *
 * `language` restricts which characters the recogniser may choose. PP-OCRv6's one
 * multilingual dictionary (18 708 characters: Latin with accents, Greek, Chinese, Japanese
 * kana, symbols) reads many languages at once, and its mistakes are often lookalikes from
 * another script (`口` for `O`, `ē` for `e`). Naming the language restricts the arg-max to
 * that language's letters plus digits, punctuation and symbols, which removes those
 * mistakes. PP-OCRv4's dictionary is Chinese + ASCII with a few accents: it supports
 * `auto`, `en` and `zh` only.
 */

export type ModelGeneration = 'v4' | 'v6';

/** The lane setting `model`: which pairing of detector and recogniser runs (tuned options in engines/embedded.ts). */
export const EMBEDDED_MODEL_CHOICES = {
  accurate: { label: 'Accurate', name: 'PP-OCRv6 small', generation: 'v6' },
  fast: { label: 'Fast', name: 'PP-OCRv4 mobile', generation: 'v4' },
} as const satisfies Record<string, { label: string; name: string; generation: ModelGeneration }>;

export type EmbeddedModel = keyof typeof EMBEDDED_MODEL_CHOICES;
export const EMBEDDED_MODEL_IDS = Object.keys(EMBEDDED_MODEL_CHOICES) as [EmbeddedModel, ...EmbeddedModel[]];
export const DEFAULT_EMBEDDED_MODEL: EmbeddedModel = 'accurate';

export interface OcrLanguage {
  label: string;
  /** Letters beyond ASCII (Latin-script languages), or a whole script class (others). */
  letters: string;
  /** The ASCII letters are allowed too (false for scripts whose capitals look Latin). */
  ascii: boolean;
  /**
   * Pairs `xy…`: lookalike x from another script counts as y (the recogniser reads Greek
   * capitals mostly as the Latin letters they look like).
   */
  folds?: string;
  /** Which recognisers' dictionaries hold these letters. */
  recognizers: readonly ModelGeneration[];
}

const LATIN_V6: ModelGeneration[] = ['v6'];

export const OCR_LANGUAGES = {
  auto: { label: 'Any language (no restriction)', letters: '', ascii: true, recognizers: ['v4', 'v6'] },
  en: { label: 'English', letters: '', ascii: true, recognizers: ['v4', 'v6'] },
  fr: { label: 'French', letters: 'àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ', ascii: true, recognizers: LATIN_V6 },
  de: { label: 'German', letters: 'äöüßÄÖÜ', ascii: true, recognizers: LATIN_V6 },
  es: { label: 'Spanish', letters: 'áéíóúüñÁÉÍÓÚÜÑ', ascii: true, recognizers: LATIN_V6 },
  it: { label: 'Italian', letters: 'àèéìíîòóùúÀÈÉÌÍÎÒÓÙÚ', ascii: true, recognizers: LATIN_V6 },
  pt: { label: 'Portuguese', letters: 'áâãàçéêíóôõúüÁÂÃÀÇÉÊÍÓÔÕÚÜ', ascii: true, recognizers: LATIN_V6 },
  nl: { label: 'Dutch', letters: 'áéíóúàèëïöüÁÉÍÓÚÀÈËÏÖÜ', ascii: true, recognizers: LATIN_V6 },
  latin: { label: 'any Latin-script language', letters: '\\p{Script=Latin}', ascii: true, recognizers: LATIN_V6 },
  el: {
    label: 'Greek (unaccented: the dictionary has no tonos; Latin lookalikes read as Greek)',
    letters: '\\p{Script=Greek}',
    ascii: false,
    folds: 'AΑBΒEΕZΖHΗIΙKΚMΜNΝOΟPΡTΤYΥXΧoοpρvνuυxχkκiι',
    recognizers: LATIN_V6,
  },
  zh: { label: 'Chinese (with Latin)', letters: '\\p{Script=Han}', ascii: true, recognizers: ['v4', 'v6'] },
  ja: { label: 'Japanese (with Latin)', letters: '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}ー', ascii: true, recognizers: LATIN_V6 },
} as const satisfies Record<string, OcrLanguage>;

export type OcrLanguageCode = keyof typeof OCR_LANGUAGES;
export const OCR_LANGUAGE_CODES = Object.keys(OCR_LANGUAGES) as [OcrLanguageCode, ...OcrLanguageCode[]];

/**
 * The RegExp source (u flag) a recognised character must match for this language, or
 * undefined for no restriction. Digits, punctuation and symbols (€, £, ©, %) always pass.
 */
export function foldChars(code: OcrLanguageCode): string | undefined {
  const language: OcrLanguage = OCR_LANGUAGES[code];
  return language.folds;
}

export function allowedCharsPattern(code: OcrLanguageCode): string | undefined {
  if (code === 'auto') return undefined;
  const language: OcrLanguage = OCR_LANGUAGES[code];
  return `^[${language.ascii ? 'A-Za-z' : ''}${language.letters}\\p{N}\\p{P}\\p{S}]$`;
}

/** The languages a recogniser generation's dictionary holds, in the table's order. */
export function languagesFor(generation: ModelGeneration): OcrLanguageCode[] {
  return OCR_LANGUAGE_CODES.filter((code) => (OCR_LANGUAGES[code].recognizers as readonly ModelGeneration[]).includes(generation));
}
