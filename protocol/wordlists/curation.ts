/**
 * @module protocol/wordlists/curation — the words taken out of three BIP39 lists before new
 * codenames draw from them, by category, so a reviewer can check each choice against the rule
 * in PROTOCOL.md ("Curated word lists"). The curated lists themselves are the BIP39 lists minus
 * these words, in BIP39 order; protocol/testdata/wordlist-* hold them with their SHA-256.
 *
 * The rule, for a slip of paper found on a North Korean worker in China or Russia: no places,
 * peoples or named people; nothing of politics, the state, ideology, religion or the army;
 * nothing of crime, violence, police, courts or secrets; nothing of sex, intimate body parts,
 * shameful illness or addiction; no facility that reads like a target. For Korean also: no
 * loanwords (their North and South forms differ: 컴퓨터/콤퓨터, 아파트/아빠트), no word spelled
 * differently in the North (두음법칙 노동/로동, 사이시옷 바닷가/바다가, 달걀/닭알) — a codename is
 * typed back letter for letter — and nothing only the South uses (구청, 한복, 초등학생).
 */

export const CURATION_CATEGORIES = [
  'places',
  'people',
  'politics',
  'crime',
  'sex-body',
  'targets',
  'loanwords',
  'north-south-spelling',
  'south-only',
] as const;
export type CurationCategory = (typeof CURATION_CATEGORIES)[number];

type Removed = Partial<Record<CurationCategory, string>>;

/** Words separated by spaces, in NFC (the lists compare in NFKD). */
export const KOREAN_REMOVED: Removed = {
  places:
    '강남 강북 강원도 개성 경복궁 경상도 경주 고궁 광주 금강산 김포공항 남대문 남산 뉴욕 대전 대한민국 독일 ' +
    '미국 백두산 백인 베이징 부산 북한 서울 설악산 아시아 아프리카 안동 양주 영국 영남 울산 유럽 인도 인종 인천 ' +
    '일본 전라도 전주 제주도 조선 종로 중국 지리산 충청도 평양 프랑스 한라산 호남 흑인',
  people: '고구려 국왕 백제 삼국 세종대왕 왕비 왕자',
  politics:
    '간부 강제 개방 계층 공군 공무원 국가 국기 국립 국민 국적 국회 군대 군사 군인 권리 권위 귀신 기관 기독교 ' +
    '대장 대통령 독립 만세 명령 목사 무궁화 민족 민주 불교 사상 선거 선전 성당 스님 언론 여군 여론 위원 육군 ' +
    '의원 이념 이민 임무 입대 잠수함 장관 장군 정보 정부 정치 조직 종교 중앙 천국 초상화 총리 출신 통신 통일 ' +
    '통제 하느님 항의 해군 회견 쿠데타',
  crime:
    '강도 거액 검사 경계 경비 경찰 공격 구속 도둑 도망 마약 명단 몰래 미사일 벌금 범인 범죄 법원 변호사 보안 ' +
    '본부 부정 불법 비밀 사건 살인 신고 위반 위법 위협 재판 전쟁 접촉 죄인 증거 처벌 촬영 파출소 판결 판사 ' +
    '형사 이놈',
  'sex-body':
    '가슴 몸매 비만 사춘기 산부인과 설사 성별 성인 성적 속옷 술집 애인 엉덩이 여고생 여대생 유산 육체 이성 ' +
    '잠자리 중독 쾌감 팬티',
  targets: '공항 금고 항구',
  loanwords:
    '가이드 게임 골프 그룹 금메달 넥타이 다이어트 달러 데이트 마라톤 마사지 마요네즈 마이크 매스컴 메일 모니터 ' +
    '모델 미디어 미팅 밀리미터 바나나 바이러스 발레 배드민턴 버튼 벨트 보너스 볼펜 브랜드 비닐 비디오 비타민 ' +
    '빌딩 서비스 서클 세미나 센터 센티미터 쇼핑 스웨터 스위치 스케이트 스튜디오 스트레스 스포츠 시나리오 시리즈 ' +
    '시멘트 시스템 시즌 아나운서 아스팔트 아파트 알루미늄 알코올 앨범 에너지 에어컨 엔진 오렌지 오븐 오페라 ' +
    '오피스텔 온라인 올림픽 와이셔츠 와인 원피스 월드컵 웨이터 인터넷 장르 조깅 채널 챔피언 초콜릿 카메라 ' +
    '카운터 캐릭터 캠퍼스 캠페인 커튼 컨디션 컬러 컴퓨터 코미디 콘서트 콜라 콤플렉스 크림 클래식 클럽 킬로 ' +
    '타입 택시 탤런트 터널 터미널 테니스 테스트 테이블 텔레비전 토마토 트럭 티셔츠 파일 팝송 패션 팩스 ' +
    '팩시밀리 퍼센트 페인트 포스터 포인트 프린터 플라스틱 피망 피아노 필름 하드웨어 핸드백 햄버거 헬기 호텔 ' +
    '홈페이지',
  // 두음법칙 (the North writes 로동, 래일, 력사, 녀성, 리용 …), 사이시옷 (the North writes 바다가,
  // 수자, 저가락 …), other spellings (남비, 소고기, 설겆이, 닭알), and 오징어 (the North's 오징어 is the
  // South's 낙지).
  'north-south-spelling':
    '나침반 낙엽 낭비 내년 내일 냉동 냉면 냉방 냉장고 노동 노인 녹음 녹차 녹화 논리 논문 논쟁 농구 농담 ' +
    '여관 여권 여동생 여성 여왕 여인 여직원 여학생 여행 역사 연결 연락 연세 연속 연습 연애 연인 연합 연휴 열차 ' +
    '염려 영역 영하 영혼 예식장 예절 예컨대 요금 유학 유행 유형 육상 육십 이력서 이론적 이발소 이별 이상 ' +
    '이용 이익 이혼 ' +
    '고춧가루 냇물 뒷모습 뒷산 바닷가 빗물 빗방울 빗줄기 수돗물 숫자 어젯밤 오랫동안 외갓집 윗사람 제삿날 ' +
    '존댓말 젓가락 찻잔 촛불 칫솔 하룻밤 햇볕 햇살 횟수 후춧가루 ' +
    '냄비 쇠고기 설거지 달걀 오징어',
  'south-only':
    '고등학생 구청 국어 다방 부동산 사모님 시댁 시청 연예인 우체국 장애인 전세 청바지 초등학생 한글 한복 한식 현대 ' +
    // the North's words: 전동차, 가두배추, 둥근파, 건늠길, 정류소
    '전철 양배추 양파 횡단보도 정류장',
};

export const ENGLISH_REMOVED: Removed = {
  places: 'dutch latin turkey olympic',
  people: 'satoshi',
  politics:
    'army citizen congress federal govern kingdom liberty mandate nation nominee rebel reform riot royal slogan ' +
    'soldier supreme veteran vote warfare warrior enlist patrol census gospel goddess faith bless agent deputy sheriff leader enemy battle defense security guard',
  crime:
    'abuse accuse arrest assault attack betray bomb bullet bunker cannon crime escape evidence execute exile fatal ' +
    'flee guilt gun illegal inflict inmate lawsuit liar pistol police prison rifle secret siege spy suspect sword ' +
    'target trigger weapon witness armed armor tank blast nuclear vicious evil border shoot judge visa',
  'sex-body': 'adult affair alcohol addict casino divorce kiss insane',
  targets: 'airport harbor runway',
};

/** Simplified forms; the Traditional list is parallel (same index), so one removal covers both. */
export const CHINESE_REMOVED: Removed = {
  // Place and country names, provinces' short names, old states and the Han people.
  places: '京津晋辽鲁湘陕藏疆港台韩朝俄欧柬埔蒙沈杭洛淮浙苏汉秦宋唐魏楚吴伊萨埃',
  // Characters read first as a surname (the leaders' among them: 毛 邓 胡 习 江 is kept as "river").
  people: '李刘陈赵郭郑蒋袁邓曹彭蔡董萧冯卢姚邵孟杜柯韦傅汪乔霍徐朱杨胡毛习金王罗黎彪',
  politics: '国党民政权革宪府官帝皇臣奴隶盟侵征敌攻击军兵战委斗抗独族侨籍防卫监核舰射剑仗霸佛寺庙圣鬼旗警',
  crime: '杀死尸亡丧枪炮弹炸爆毒罪犯刑狱罚捕逮审判侦秘密谋叛逃偷盗抢骗暴凶毁袭夺诬讼案贪',
  'sex-body': '性乳胸粪',
};

/** The removed words of one list as an array, in the order above. */
export function removedWords(removed: Removed, byCharacter = false): string[] {
  return CURATION_CATEGORIES.flatMap((c) => {
    const text = removed[c] ?? '';
    return byCharacter ? [...text] : text.split(' ').filter((w) => w !== '');
  });
}
