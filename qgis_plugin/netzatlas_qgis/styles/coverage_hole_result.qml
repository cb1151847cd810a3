<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
 <renderer-v2 type="categorizedSymbol" attr="coverage" symbollevels="0" enableorderby="0" forceraster="0">
  <categories>
   <category render="true" value="outdoor" label="kein Empfang im Freien / no outdoor coverage" symbol="0"/>
   <category render="true" value="indoor" label="kein Empfang in Gebäuden / no indoor coverage" symbol="1"/>
  </categories>
  <symbols>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
     <prop k="color" v="215,48,39,115"/><prop k="outline_color" v="165,0,38,255"/><prop k="outline_width" v="0.26"/>
     <prop k="style" v="solid"/>
    </layer>
   </symbol>
   <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
     <prop k="color" v="252,141,89,115"/><prop k="outline_color" v="165,0,38,255"/><prop k="outline_width" v="0.26"/>
     <prop k="style" v="solid"/>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
