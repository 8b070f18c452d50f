"""Traditional -> simplified for the characters most often seen in names, one character to one.

A small, hand-checked table, not a converter: it covers common surnames and given-name characters
(陳→陈, 劉→刘, 週→周, 國→国 ...) so that a name typed in traditional characters by one department
equals the simplified registry entry. Each pair is one traditional and one simplified character, so
the table works as a ``str.translate`` table in Python and through ``widths.translate_sql`` in DuckDB.
"""

_PAIRS = (
    "陳陈 劉刘 張张 黃黄 趙赵 吳吴 週周 鄭郑 許许 馮冯 孫孙 楊杨 謝谢 羅罗 葉叶 蘇苏 "
    "盧卢 蔣蒋 韓韩 鄧邓 陸陆 賈贾 萬万 龍龙 錢钱 湯汤 閻阎 閆闫 蕭萧 龔龚 譚谭 鍾钟 "
    "鐘钟 顧顾 嚴严 賴赖 鄒邹 範范 呂吕 聶聂 喬乔 鄔邬 鮑鲍 費费 齊齐 歐欧 鄺邝 藍蓝 "
    "馬马 關关 莊庄 樂乐 華华 溫温 紀纪 廣广 寧宁 畢毕 應应 麥麦 單单 嶽岳 閔闵 賀贺 "
    "衛卫 項项 賁贲 祿禄 駱骆 雙双 區区 況况 遲迟 權权 韋韦 魯鲁 餘余 竇窦 蘭兰 鳳凤 "
    "麗丽 東东 國国 傑杰 軍军 偉伟 強强 紅红 艷艳 豔艳 鵬鹏 輝辉 飛飞 雲云 賢贤 鳴鸣 "
    "濤涛 聰聪 穎颖 頴颖 寶宝 貴贵 榮荣 興兴 發发 財财 勝胜 義义 禮礼 慶庆 進进 達达 "
    "勳勋 勛勋 壽寿 長长 順顺 陽阳 鋒锋 鋼钢 銀银 錦锦 瑩莹 嬌娇 嫻娴 婭娅 蓮莲 靜静 "
    "潔洁 鶯莺 瓊琼 嬋婵 愛爱 蕓芸 藝艺 蘋苹 環环 瑤瑶 瑋玮 璽玺 瓏珑 綠绿 絲丝 純纯 "
    "緣缘 綺绮 維维 繼继 緒绪 經经 紹绍 統统 續续 亞亚 倫伦 儀仪 億亿 優优 傳传 僑侨 "
    "俠侠 會会 兒儿 劍剑 勵励 協协 歷历 啟启 圓圆 團团 堅坚 壯壮 夢梦 奮奋 學学 實实 "
    "專专 導导 岡冈 嶺岭 峯峰 巖岩 幹干 彌弥 彥彦 後后 從从 徵征 憶忆 懷怀 戰战 擁拥 "
    "數数 無无 時时 晉晋 曉晓 書书 極极 業业 樹树 橋桥 機机 歡欢 歸归 氣气 漢汉 潤润 "
    "澤泽 濱滨 灣湾 為为 煒炜 燦灿 爾尔 獻献 現现 產产 畫画 盡尽 眾众 衆众 碩硕 禎祯 "
    "穩稳 筆笔 節节 簡简 粵粤 細细 結结 綱纲 總总 績绩 聖圣 聲声 聯联 職职 舉举 蒼苍 "
    "萊莱 蔭荫 蘆芦 蘊蕴 號号 補补 規规 親亲 覺觉 觀观 訓训 詩诗 誠诚 誼谊 謙谦 識识 "
    "護护 讓让 豐丰 貞贞 賓宾 賦赋 質质 贊赞 軒轩 輪轮 農农 運运 遠远 選选 邊边 鄉乡 "
    "釗钊 鈞钧 鈺钰 銘铭 錚铮 鍵键 鎮镇 鏡镜 鐵铁 開开 閩闽 闊阔 隨随 雞鸡 電电 靈灵 "
    "韻韵 頂顶 頌颂 領领 頤颐 顏颜 願愿 顯显 風风 飄飘 館馆 騰腾 驊骅 體体 鬆松 鴻鸿 "
    "鵑鹃 鶴鹤 黨党 齡龄 禕祎 諾诺 貝贝 軼轶 暉晖 暢畅 曄晔 樺桦 滿满 濟济 瀟潇 灝灏 "
    "煥焕 獅狮 瑪玛 璉琏 穀谷 競竞 築筑 紋纹 綿绵 緯纬 繡绣 習习 聞闻 肅肃 葦苇 蔥葱 "
    "藹蔼 詠咏 誌志 語语 譽誉 貫贯 賜赐 贏赢 躍跃 輔辅 遙遥 醫医 鈴铃 銳锐 鋭锐 錫锡 "
    "閣阁 際际 雋隽 霧雾 靚靓 頭头 颯飒 駿骏 騏骐 驥骥 鷹鹰 鳥鸟 鯉鲤 廸迪 "
).split()

TRADITIONAL = "".join(pair[0] for pair in _PAIRS)
SIMPLIFIED = "".join(pair[1] for pair in _PAIRS)
