//! Structure labels of `organs.nii.gz` (u8). `label.nii.gz` is `organs == PANCREAS`.

pub const BACKGROUND: u8 = 0;
pub const PANCREAS: u8 = 1;
pub const SUBCUTANEOUS_FAT: u8 = 2;
pub const MUSCLE: u8 = 3;
pub const VISCERAL_FAT: u8 = 4;
pub const BONE_CORTEX: u8 = 5;
pub const BONE_MARROW: u8 = 6;
pub const AORTA: u8 = 7;
pub const IVC: u8 = 8;
pub const PORTAL_VEIN: u8 = 9;
pub const SPLENIC_VEIN: u8 = 10;
pub const SMA: u8 = 11;
pub const SMV: u8 = 12;
pub const LIVER: u8 = 13;
pub const SPLEEN: u8 = 14;
pub const KIDNEY_CORTEX: u8 = 15;
pub const KIDNEY_MEDULLA: u8 = 16;
pub const STOMACH_WALL: u8 = 17;
pub const STOMACH_CONTENT: u8 = 18;
pub const DUODENUM_WALL: u8 = 19;
pub const DUODENUM_CONTENT: u8 = 20;
pub const SMALL_BOWEL_WALL: u8 = 21;
pub const SMALL_BOWEL_CONTENT: u8 = 22;
pub const COLON_WALL: u8 = 23;
pub const COLON_CONTENT: u8 = 24;
pub const DISC: u8 = 25;
pub const SPINAL_CANAL: u8 = 26;
// structures of the realistic profile (thorax, pelvis, scanner environment, pathology)
pub const LUNG: u8 = 27;
pub const HEART: u8 = 28;
pub const BLADDER: u8 = 29;
pub const ASCITES: u8 = 30;
pub const TABLE: u8 = 31;
pub const METAL: u8 = 32;
pub const CARTILAGE: u8 = 33;
pub const DIAPHRAGM: u8 = 34;
pub const ARM_BONE: u8 = 35;

/// (label, name) for every structure, as written into cohort.json.
pub const NAMES: &[(u8, &str)] = &[
    (BACKGROUND, "background (air)"),
    (PANCREAS, "pancreas"),
    (SUBCUTANEOUS_FAT, "subcutaneous fat"),
    (MUSCLE, "muscle (abdominal wall, psoas, paraspinal)"),
    (VISCERAL_FAT, "visceral fat"),
    (BONE_CORTEX, "bone cortex (vertebrae, ribs)"),
    (BONE_MARROW, "bone marrow"),
    (AORTA, "aorta"),
    (IVC, "inferior vena cava"),
    (PORTAL_VEIN, "portal vein"),
    (SPLENIC_VEIN, "splenic vein"),
    (SMA, "superior mesenteric artery"),
    (SMV, "superior mesenteric vein"),
    (LIVER, "liver"),
    (SPLEEN, "spleen"),
    (KIDNEY_CORTEX, "kidney cortex"),
    (KIDNEY_MEDULLA, "kidney medulla"),
    (STOMACH_WALL, "stomach wall"),
    (STOMACH_CONTENT, "stomach content"),
    (DUODENUM_WALL, "duodenum wall"),
    (DUODENUM_CONTENT, "duodenum content"),
    (SMALL_BOWEL_WALL, "small bowel wall"),
    (SMALL_BOWEL_CONTENT, "small bowel content"),
    (COLON_WALL, "colon wall"),
    (COLON_CONTENT, "colon content"),
    (DISC, "intervertebral disc"),
    (SPINAL_CANAL, "spinal canal"),
    (LUNG, "lung"),
    (HEART, "heart (blood pool and myocardium)"),
    (BLADDER, "urinary bladder"),
    (ASCITES, "ascites"),
    (TABLE, "scanner table"),
    (METAL, "metal (prosthesis, spinal hardware, clips)"),
    (CARTILAGE, "costal cartilage"),
    (DIAPHRAGM, "diaphragm"),
    (ARM_BONE, "arm bone"),
];

/// The labels of the classic profile: the first entries of [`NAMES`] (the realistic profile
/// adds the rest).
pub const CLASSIC_COUNT: usize = 27;

/// Number of label values (every label is below it).
pub const LABEL_COUNT: usize = 36;

/// Labels that soft-tissue organs may paint over (they grow into fat and bowel, never into
/// muscle or bone).
pub fn is_soft_background(l: u8) -> bool {
    matches!(
        l,
        VISCERAL_FAT | SMALL_BOWEL_WALL | SMALL_BOWEL_CONTENT | COLON_WALL | COLON_CONTENT
    )
}
