/**
 * @module protocol/_codename-entry — small tables the forgiving reading of a typed codename
 * uses (PROTOCOL.md, "Typing a codename back"): Latin letters' Cyrillic look-alikes, and the
 * North's spellings of stock Korean words, which an 8-word codename made before the curation
 * may hold and a reader from the North may type as he learned them.
 */
import { normalizeText } from './_codename-lists.ts';

/** Cyrillic letters (after lower-casing) that look like a Latin letter in print or on paper. */
export const CYRILLIC_LOOKALIKES: Readonly<Record<string, string>> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  і: 'i', ј: 'j', ѕ: 's', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l',
};

/** Reads a run with Cyrillic letters as Latin when every Cyrillic letter in it has a look-alike. */
export function latinFromLookalikes(run: string): string {
  if (!/\p{Script=Cyrillic}/u.test(run)) return run;
  const chars = [...run];
  if (chars.some((c) => /\p{Script=Cyrillic}/u.test(c) && !(c in CYRILLIC_LOOKALIKES))) return run;
  return chars.map((c) => CYRILLIC_LOOKALIKES[c] ?? c).join('');
}

/**
 * The North's spelling → the stock list's (South's) spelling, for stock words that differ only
 * in spelling: the initial-sound rule (두음법칙) the North does not apply, the 사이시옷 the
 * North does not write, a few other spellings and loanwords. Curated lists hold none of these.
 */
const NORTH_SPELLINGS = (
  '라침반 나침반 락엽 낙엽 랑비 낭비 래년 내년 래일 내일 랭동 냉동 랭면 냉면 랭방 냉방 랭장고 냉장고 로동 노동 ' +
  '로인 노인 록음 녹음 록차 녹차 록화 녹화 론리 논리 론문 논문 론쟁 논쟁 롱구 농구 롱담 농담 려관 여관 려권 여권 ' +
  '녀동생 여동생 녀성 여성 녀왕 여왕 녀인 여인 녀직원 여직원 녀학생 여학생 녀고생 여고생 녀대생 여대생 녀군 여군 ' +
  '려행 여행 력사 역사 련결 연결 련락 연락 년세 연세 련속 연속 련습 연습 련애 연애 련인 연인 련합 연합 련휴 연휴 ' +
  '렬차 열차 념려 염려 령역 영역 령하 영하 령혼 영혼 례식장 예식장 례절 예절 료금 요금 류학 유학 류행 유행 ' +
  '류형 유형 륙상 육상 륙십 육십 리력서 이력서 리론적 이론적 리발소 이발소 리별 이별 리상 이상 리용 이용 리익 이익 ' +
  '리혼 이혼 리념 이념 리성 이성 ' +
  '고추가루 고춧가루 내물 냇물 뒤모습 뒷모습 뒤산 뒷산 바다가 바닷가 비물 빗물 비방울 빗방울 비줄기 빗줄기 ' +
  '수도물 수돗물 수자 숫자 어제밤 어젯밤 오래동안 오랫동안 외가집 외갓집 웃사람 윗사람 제사날 제삿날 존대말 존댓말 ' +
  '저가락 젓가락 차잔 찻잔 초불 촛불 치솔 칫솔 하루밤 하룻밤 해볕 햇볕 해살 햇살 회수 횟수 후추가루 후춧가루 ' +
  '남비 냄비 소고기 쇠고기 설겆이 설거지 닭알 달걀 ' +
  '콤퓨터 컴퓨터 아빠트 아파트 텔레비죤 텔레비전 도마도 토마토 세멘트 시멘트 인터네트 인터넷 화일 파일 ' +
  '에네르기 에너지 알루미니움 알루미늄'
).split(' ');

let northSpellings: ReadonlyMap<string, string> | undefined;
export function northKoreanSpellings(): ReadonlyMap<string, string> {
  northSpellings ??= new Map(
    Array.from({ length: NORTH_SPELLINGS.length / 2 }, (_, i) => [
      normalizeText(NORTH_SPELLINGS[2 * i]!),
      normalizeText(NORTH_SPELLINGS[2 * i + 1]!),
    ]),
  );
  return northSpellings;
}
